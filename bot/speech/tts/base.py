"""The text-to-speech interface: an engine with capabilities as data, WAV bytes out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.errors import BotError

NORMAL_PACE = 1.0
"""The configured speaking rate."""
SLOW_PACE = 0.7
"""Speaking rate factor after 「说慢一点」 (espeak-ng 175 → 122 words per minute)."""


class TtsError(BotError):
    """Speech synthesis failed or timed out."""

    code = "tts_unavailable"
    status = 503


@dataclass(frozen=True)
class TtsInfo:
    """What an engine is and what it produces."""

    name: str
    """Engine and voice, e.g. ``pyttsx3:espeak-ng:cmn``."""
    language: str
    """Language of the voice (``zh``)."""
    sample_rate: int
    """Rate of the WAV it returns (mono PCM16)."""


class TextToSpeech(Protocol):
    """A synthesiser: text in, mono PCM16 WAV out; safe to call from any thread."""

    @property
    def info(self) -> TtsInfo:
        """Capabilities of the engine."""
        ...

    def synthesize(self, text: str) -> bytes:
        """The whole text as one WAV."""
        ...

    def synthesize_stream(self, text: str, pace: float = NORMAL_PACE) -> Iterator[bytes]:
        """One WAV per sentence, as soon as each is ready (first audio sooner); ``pace`` scales the
        speaking rate (``SLOW_PACE`` after 「说慢一点」)."""
        ...
