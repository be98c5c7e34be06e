"""Typed pipeline events, streamed to clients and the panel's debug view as JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Stages of a turn (PRODUCT.md, "Voice specifics")."""

    WAKE = "wake"
    """The wake phrase was heard: the turn's listening starts."""
    STT_PARTIAL = "stt-partial"
    STT_FINAL = "stt-final"
    INTENT = "intent"
    DIALOGUE = "dialogue"
    TTS_START = "tts-start"
    TTS_END = "tts-end"
    TTS_STOP = "tts-stop"
    """The user spoke while the answer was being spoken (barge-in): the rest of the audio is dropped."""
    CARD = "card"
    ERROR = "error"
    RUN_END = "run-end"


@dataclass(frozen=True)
class PipelineEvent:
    """One event of a turn, with the time it happened (ms since the turn started)."""

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)
    at_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON form sent to clients."""
        return {"type": self.type.value, "at_ms": round(self.at_ms, 1), "data": self.data}


class EventLog:
    """Collects a turn's events with timings relative to its start."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()
        self.events: list[PipelineEvent] = []

    def add(self, type_: EventType, **data: Any) -> None:
        """Record an event now."""
        self.events.append(PipelineEvent(type_, data, (time.perf_counter() - self._t0) * 1000))

    def to_json(self) -> list[dict[str, Any]]:
        """All events as JSON."""
        return [e.to_json() for e in self.events]
