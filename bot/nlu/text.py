"""The turn normalisation of :mod:`bot.nlu.normalize`, with entity offsets carried across it.

Training examples are annotated on the raw text (``[空调](device_type) 这个 月``); after the
normaliser removes recogniser spaces and fillers their character offsets must follow.
"""

from __future__ import annotations

import unicodedata

from bot.nlu.normalize import normalize


def char_origins(original: str, normalized: str) -> list[int] | None:
    """For each character of ``normalized``, its index in ``original``; None if they do not align.

    ``normalize`` only maps characters (NFKC) and deletes some (spaces, fillers, control
    characters), so the normalised text is a subsequence of the expanded original.
    """
    expanded: list[tuple[str, int]] = []
    for index, ch in enumerate(original):
        expanded += [(part, index) for part in unicodedata.normalize("NFKC", ch)]
    origins: list[int] = []
    cursor = 0
    for ch in normalized:
        while cursor < len(expanded) and not _same(expanded[cursor][0], ch):
            cursor += 1
        if cursor == len(expanded):
            return None
        origins.append(expanded[cursor][1])
        cursor += 1
    return origins


def _same(a: str, b: str) -> bool:
    return a == b or (a.isspace() and b.isspace())


def moved_span(original: str, normalized: str, start: int, end: int) -> tuple[int, int] | None:
    """Where ``original[start:end]`` is in ``normalized``; None when it was removed or is lost."""
    wanted = normalize(original[start:end])
    if not wanted:
        return None
    origins = char_origins(original, normalized)
    if origins is not None:
        inside = [i for i, o in enumerate(origins) if start <= o < end]
        if inside and normalized[inside[0] : inside[-1] + 1] == wanted:
            return inside[0], inside[-1] + 1
    found = normalized.find(wanted)
    return (found, found + len(wanted)) if found >= 0 else None
