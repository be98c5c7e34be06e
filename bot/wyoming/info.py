"""The answer to ``describe``: our ``asr``, ``tts`` and ``handle`` programs, as data Home Assistant reads."""

from __future__ import annotations

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)

from bot import __version__
from bot.conversation.pipeline import Speech

HANDLE_LANGUAGES = ["zh", "zh-cn"]
"""Languages the dialogue understands (Home Assistant writes Mandarin as ``zh-cn``)."""
OURS = Attribution(name="家居金融语音助手", url="")
VOSK = Attribution(name="Alpha Cephei (Vosk)", url="https://alphacephei.com/vosk/")
ESPEAK = Attribution(name="eSpeak NG (via pyttsx3)", url="https://github.com/espeak-ng/espeak-ng")


def languages(language: str) -> list[str]:
    """A model's language as Home Assistant's language tags."""
    return list(HANDLE_LANGUAGES) if language == "zh" else [language]


def describe(engines: Speech) -> Info:
    """Every program that is up (a recogniser or synthesiser that failed to load is left out)."""
    info = Info(handle=[handle_program()])
    if engines.stt is not None:
        stt = engines.stt.info
        model = AsrModel(
            name=stt.name,
            attribution=VOSK,
            installed=True,
            description=f"Vosk {stt.name.removeprefix('vosk:')}",
            version=None,
            languages=languages(stt.language),
        )
        info.asr = [
            AsrProgram(
                name="bot-stt",
                attribution=OURS,
                installed=True,
                description="家居金融语音助手 语音识别（离线）",
                version=__version__,
                models=[model],
            )
        ]
    if engines.tts is not None:
        tts = engines.tts.info
        voice = TtsVoice(
            name=tts.name,
            attribution=ESPEAK,
            installed=True,
            description="普通话（espeak-ng）",
            version=None,
            languages=languages(tts.language),
        )
        info.tts = [
            TtsProgram(
                name="bot-tts",
                attribution=OURS,
                installed=True,
                description="家居金融语音助手 语音播报（离线）",
                version=__version__,
                voices=[voice],
            )
        ]
    return info


def handle_program() -> HandleProgram:
    """The conversation: household energy and finance in Mandarin; it never controls devices."""
    model = HandleModel(
        name="bot-dialogue",
        attribution=OURS,
        installed=True,
        description="家庭用电与家电金融问答",
        version=__version__,
        languages=list(HANDLE_LANGUAGES),
    )
    return HandleProgram(
        name="bot-conversation",
        attribution=OURS,
        installed=True,
        description="家居金融语音助手",
        version=__version__,
        models=[model],
        supports_home_control=False,
    )
