"""Recogniser output → text for NLU: drop unknown-word markers, join Chinese split into words."""

from __future__ import annotations

from bot.normalize import normalize

UNKNOWN = "[unk]"
"""Vosk's token for out-of-grammar speech."""


def clean_transcript(raw: str) -> str:
    """``分 十二 期 [unk]`` → ``分十二期``; other scripts keep their spaces."""
    words = [w for w in raw.split() if w != UNKNOWN]
    return normalize(" ".join(words))
