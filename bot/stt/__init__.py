"""Speech to text: a small interface, the Vosk engine, VAD-endpointed streaming and grammar mode."""

from __future__ import annotations

from bot.stt.base import SpeechToText, SttError, SttInfo, SttSession
from bot.stt.stream import AsyncUtteranceStream, SttUpdate, Transcript, UtteranceStream, transcribe_wav

__all__ = [
    "AsyncUtteranceStream",
    "SpeechToText",
    "SttError",
    "SttInfo",
    "SttSession",
    "SttUpdate",
    "Transcript",
    "UtteranceStream",
    "transcribe_wav",
]
