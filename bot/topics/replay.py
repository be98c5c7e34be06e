"""「再说一遍」「说慢一点」: the assistant's previous answer, read from the conversation's events
(Rasa tracker events as dicts), without the lead-ins that are not part of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LEAD_INS = frozenset({"utter_pace_slow", "utter_repeat_nothing"})
"""Responses that introduce a repetition rather than belong to the answer repeated."""


def last_answer(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any] | None]]:
    """(text, card) of each message the assistant sent between the previous and the latest user turn."""
    answer: list[tuple[str, dict[str, Any] | None]] = []
    users = 0
    for event in reversed(list(events)):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                break
        elif event.get("event") == "bot" and users == 1 and _is_answer(event):
            card = (event.get("data") or {}).get("custom") or None
            answer.append((str(event.get("text") or ""), card))
    return list(reversed(answer))


def _is_answer(event: Mapping[str, Any]) -> bool:
    return (event.get("metadata") or {}).get("utter_action") not in LEAD_INS
