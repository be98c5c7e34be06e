"""Grammar mode: a plain phrase list fitted to a model's vocabulary.

A closed list (given by the conversation layer, :mod:`bot.conversation.grammar`) cuts
misrecognitions when the dialogue expects one of a few answers. Phrases are written naturally
(``分十二期``); :func:`compile_grammar` splits them into the recogniser's words (``分 十二 期``) and
drops what the model cannot say.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable

from bot.speech.stt.text import UNKNOWN

_LOGGER = logging.getLogger(__name__)

HasWord = Callable[[str], bool]
"""Whether the recogniser's vocabulary contains a word."""

MAX_WORD_CHARS = 8
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_SEPARATORS = re.compile(r"[\s,，.。、!！?？;；:：()（）/\-_·\"'“”]+")


def segment(token: str, has_word: HasWord, max_chars: int = MAX_WORD_CHARS) -> list[str] | None:
    """Split Chinese text into the fewest vocabulary words, or None when it cannot be said."""
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - max_chars), end):
            head = best[start]
            if head is None or not has_word(token[start:end]):
                continue
            if best[end] is None or len(head) + 1 < len(best[end] or ()):
                best[end] = [*head, token[start:end]]
    return best[-1]


def _words(phrase: str, has_word: HasWord) -> list[str] | None:
    text = unicodedata.normalize("NFKC", phrase).lower()
    words: list[str] = []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        if has_word(token):
            words.append(token)
            continue
        split = segment(token, has_word) if _CJK_ONLY.match(token) else None
        if split is None:
            return None
        words += split
    return words or None


def compile_grammar(phrases: Iterable[str], has_word: HasWord) -> list[str]:
    """Phrases as space-separated vocabulary words (deduplicated), plus the unknown-word token."""
    out: list[str] = []
    dropped: list[str] = []
    for phrase in phrases:
        words = _words(phrase, has_word)
        if words is None:
            dropped.append(phrase)
        elif (joined := " ".join(words)) not in out:
            out.append(joined)
    if dropped:
        _LOGGER.info("grammar: %d phrases not in the model's vocabulary dropped", len(dropped))
    if out and has_word(UNKNOWN):
        out.append(UNKNOWN)
    return out
