"""Recogniser output → the recognised words: unknown-word markers dropped, one space between words.

Nothing else: joining Chinese words, full-width forms and fillers are the product's text
normalisation (:func:`bot.nlu.normalize.normalize`), which every turn gets, typed or spoken.
"""

from __future__ import annotations

UNKNOWN = "[unk]"
"""Vosk's token for out-of-grammar speech."""


def clean_transcript(raw: str) -> str:
    """``分 十二 期 [unk]`` → ``分 十二 期``."""
    return " ".join(w for w in raw.split() if w != UNKNOWN)
