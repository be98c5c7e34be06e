"""Recogniser output → text: drop unknown-word markers, join Chinese that the recogniser split into words.

Only the recogniser's own spacing is undone here; the product's text normalisation (fillers,
full-width forms) runs on every turn afterwards, typed or spoken.
"""

from __future__ import annotations

import re

UNKNOWN = "[unk]"
"""Vosk's token for out-of-grammar speech."""

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9])\s+(?=[{_CJK}])")


def clean_transcript(raw: str) -> str:
    """``分 十二 期 [unk]`` → ``分十二期``; other scripts keep their spaces."""
    words = [w for w in raw.split() if w != UNKNOWN]
    return join_cjk(" ".join(words))


def join_cjk(text: str) -> str:
    """Drop the spaces a recogniser puts between Chinese words (and between them and digits)."""
    return _SPACE_BETWEEN_CJK.sub("", text)
