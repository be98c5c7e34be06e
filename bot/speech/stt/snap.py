"""Grammar results are a listed phrase or nothing: the recogniser's n-best list scored against the phrases.

A grammar-restricted decoder still strings the grammar's words together freely, so it can return a
word sequence that is no phrase at all (``켜 줘 줘``, ``다음 줘 다음 달``). Like an intent-style
recogniser (Picovoice Rhino), we score every alternative against every listed phrase and return the
best phrase with a confidence, or nothing below a threshold — the dialogue then asks again instead of
guessing.

Scoring: the alternatives' decoder scores become weights (a softmax: Vosk's alternative
``confidence`` is a log-domain lattice score); a phrase's confidence is the weighted similarity of the
alternatives to it, similarity being one minus the normalised edit distance over characters (spaces
ignored, so it works for Chinese characters and Korean syllables alike).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.speech.stt.text import UNKNOWN

DEFAULT_THRESHOLD = 0.6
"""Below this confidence the result is empty (measured on the Korean test phrases: bench/RESULTS.md)."""


@dataclass(frozen=True)
class Alternative:
    """One hypothesis of the recogniser's n-best list."""

    text: str
    score: float
    """Decoder score (log domain; only differences between alternatives matter)."""


@dataclass(frozen=True)
class Snapped:
    """The listed phrase the utterance is taken to be."""

    phrase: str
    """As listed (the recogniser's words, space-separated)."""
    confidence: float
    """0–1: weighted similarity of the n-best list to the phrase."""


def squash(text: str) -> str:
    """Comparable form: NFKC, lower case, unknown markers and spaces dropped."""
    words = [w for w in unicodedata.normalize("NFKC", text).lower().split() if w != UNKNOWN]
    return "".join(words)


def similarity(a: str, b: str) -> float:
    """1 − edit distance / longer length, over the squashed strings (1.0 identical, 0.0 disjoint)."""
    a, b = squash(a), squash(b)
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def weights(alternatives: Sequence[Alternative]) -> list[float]:
    """Softmax of the decoder scores."""
    if not alternatives:
        return []
    top = max(a.score for a in alternatives)
    raw = [math.exp(a.score - top) for a in alternatives]
    total = sum(raw)
    return [r / total for r in raw]


def snap(
    alternatives: Sequence[Alternative], phrases: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> Snapped | None:
    """The best listed phrase for the n-best list; None when nothing was said or below ``threshold``."""
    heard = [a for a in alternatives if squash(a.text)]
    listed = [p for p in phrases if squash(p)]
    if not heard or not listed:
        return None
    w = weights(heard)
    best: Snapped | None = None
    for phrase in listed:
        score = sum(wi * similarity(a.text, phrase) for wi, a in zip(w, heard, strict=True))
        if best is None or score > best.confidence:
            best = Snapped(phrase, round(score, 3))
    return best if best is not None and best.confidence >= threshold else None


def matching_phrase(text: str, phrases: Sequence[str]) -> str | None:
    """The listed phrase ``text`` is exactly (spaces and unknown markers aside), or None."""
    said = squash(text)
    if not said:
        return None
    return next((p for p in phrases if squash(p) == said), None)
