"""The speech engines of the Wyoming service: the gateway's recogniser model and synthesiser, loaded once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.config import Config
from bot.errors import BotError
from bot.speech import registry
from bot.speech.settings import SpeechSettings
from bot.speech.stt.base import SpeechToText
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.speech.tts.base import TextToSpeech
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech

_LOGGER = logging.getLogger(__name__)


@dataclass
class Engines:
    """Recogniser and synthesiser (None when down, with the reason)."""

    settings: SpeechSettings
    stt: SpeechToText | None = None
    stt_error: str | None = None
    tts: TextToSpeech | None = None
    tts_error: str | None = None

    def close(self) -> None:
        """Release the synthesiser's thread."""
        close = getattr(self.tts, "close", None)
        if callable(close):
            close()


async def load_engines(config: Config) -> Engines:
    """The ``[speech]`` model and voice, as the gateway loads them; failures are reported, not raised."""
    settings = SpeechSettings.from_config(config)
    engines = Engines(settings)
    try:
        model = registry.resolve(settings.model, config.models_dir)
        stt = VoskSpeechToText(model.path, model.language, model.name)
        await asyncio.to_thread(stt.load)
        engines.stt = stt
    except BotError as err:
        engines.stt_error = err.message
        _LOGGER.warning("Wyoming speech recognition down: %s", err.message)
    tts = Pyttsx3TextToSpeech(settings.voice_settings())
    try:
        await asyncio.to_thread(tts.synthesize, "好")
        engines.tts = tts
    except BotError as err:
        tts.close()
        engines.tts_error = err.message
        _LOGGER.warning("Wyoming speech synthesis down: %s", err.message)
    return engines
