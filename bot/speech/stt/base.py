"""The speech-to-text interface: an engine with capabilities as data, one streaming session per utterance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.errors import BotError


class SttError(BotError):
    """Speech recognition cannot run (model missing or broken, engine failure)."""

    code = "stt_unavailable"
    status = 503


@dataclass(frozen=True)
class SttInfo:
    """What an engine is and what audio it takes."""

    name: str
    """Engine and model, e.g. ``vosk:vosk-model-small-cn-0.22``."""
    language: str
    """BCP-47-ish language of the model (``zh``, ``ko``, ``en``)."""
    sample_rate: int = 16000
    """Rate of the PCM16 mono audio the sessions accept."""
    model_dir: Path | None = None
    """Where the model was loaded from."""


class SttSession(Protocol):
    """Recognition of one utterance; not thread-safe (one caller at a time)."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed PCM16 mono at ``info.sample_rate``; returns the partial text when it changed."""
        ...

    def finish(self) -> str:
        """End of the utterance: the final raw text (may be empty)."""
        ...


class SpeechToText(Protocol):
    """A recogniser engine: loads its model once, opens one session per utterance."""

    @property
    def info(self) -> SttInfo:
        """Capabilities of the engine."""
        ...

    def start(self, grammar: Sequence[str] | None = None) -> SttSession:
        """A new session; ``grammar`` restricts recognition to those phrases (plus unknown)."""
        ...
