"""Text to speech: a small interface, pyttsx3/espeak-ng on a dedicated thread, Chinese number reading."""

from __future__ import annotations

from bot.tts.base import TextToSpeech, TtsError, TtsInfo
from bot.tts.numbers import speakable

__all__ = ["TextToSpeech", "TtsError", "TtsInfo", "speakable"]
