"""Wake word: false accepts per hour on long non-wake speech and noise, misses on the wake phrase.

Korean stand-in wake phrase 「지니 지니」 on the Korean test model (the tenants' Chinese phrases
cannot be said by it). Non-wake audio: everyday Korean sentences by espeak-ng at several speaking
rates, one naming the assistant once, with stretches of pink and brown noise between them, streamed
through one spotter as a continuous stream. Misses: the wake phrase at four speaking rates, clean and
over pink noise (sox). The stack is not needed.
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np

from bench.speech import _engine, _speech
from bot.speech.audio import SAMPLE_RATE, wav_to_pcm16
from bot.speech.wake import WakeSpotter

WAKE = "지니 지니"
SENTENCES = (
    "오늘 날씨 어때요",
    "음악 좀 틀어 줘",
    "안녕하세요 감사합니다",
    "지니는 내 친구야",
    "엄마 밥 먹었어요",
    "내일 학교에 가요",
    "에어컨 좀 켜 줘",
    "지금 몇 시예요",
    "전화 좀 해 줘",
    "정말 고마워요",
    "천천히 말해 주세요",
    "냉장고 문 닫아",
)
RATES = (130, 150, 175, 200)
NOISE_S = 5.0
CHUNK = 3200


def _noise(kind: str, seconds: float, gain_db: float = -30) -> bytes:
    """sox-synthesised noise as 16 kHz PCM16."""
    cmd = ["sox", "-n", "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1", "-t", "wav", "-"]
    cmd += ["synth", str(seconds), kind, "gain", str(gain_db)]
    return wav_to_pcm16(subprocess.run(cmd, capture_output=True, check=True).stdout)


def _over(pcm: bytes, noise: bytes) -> bytes:
    """``pcm`` mixed with (looped) ``noise``."""
    a = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    n = np.resize(np.frombuffer(noise, dtype="<i2").astype(np.int32), a.shape)
    return bytes(np.clip(a + n, -32768, 32767).astype("<i2").tobytes())


def _wakes(spotter: WakeSpotter, pcm: bytes) -> int:
    return sum(len(spotter.feed(pcm[i : i + CHUNK])) for i in range(0, len(pcm), CHUNK))


def run(stack: Any = None) -> dict[str, Any]:
    """False accepts per hour and miss rate."""
    engine = _engine()
    engine.load()
    if engine.info.language != "ko":
        return {}  # a provisioned Chinese model: measure with the tenant's own phrase instead
    pink, brown = _noise("pinknoise", NOISE_S), _noise("brownnoise", NOISE_S)
    long_audio = b"".join(
        _speech(text, "ko", RATES[i % len(RATES)])[0] + (pink if i % 2 else brown)
        for i, text in enumerate(SENTENCES)
    )
    spotter = WakeSpotter(engine, WAKE)
    false_accepts = _wakes(spotter, long_audio)
    hours = len(long_audio) / 2 / SAMPLE_RATE / 3600
    trials = misses = 0
    for wpm in RATES:
        clean = _speech(WAKE, "ko", wpm)[0]
        for pcm in (clean, _over(clean, pink)):
            trials += 1
            misses += _wakes(WakeSpotter(engine, WAKE), pcm) == 0
    return {
        "wake_false_accepts_per_hour": round(false_accepts / hours, 2),
        "wake_false_accepts": false_accepts,
        "wake_non_wake_audio_s": round(hours * 3600, 1),
        "wake_miss_rate": round(misses / trials, 3),
        "wake_trials": trials,
    }
