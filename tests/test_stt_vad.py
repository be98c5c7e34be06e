"""VAD endpointing: utterances open with their pre-roll and close after the configured trailing silence;
both frame classifiers (WebRTC, Silero) find real speech, and Silero's model ships in its package."""

from __future__ import annotations

import numpy as np
import pytest

from bot.errors import ConfigError
from bot.speech.audio import wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.speech.vad import FRAME_BYTES, FRAME_MS, Endpointer, SileroClassifier, VadEventType, VadSettings
from tests.speech_fixtures import espeak_wav

VOICED, QUIET = b"\x01" * FRAME_BYTES, b"\x00" * FRAME_BYTES


def by_first_byte(frame: bytes) -> bool:
    return frame[0] == 1


def frames(pattern: str) -> bytes:
    """``v`` a voiced frame, ``.`` a quiet one."""
    return b"".join(VOICED if c == "v" else QUIET for c in pattern)


def kinds(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.type.value for e in events]


def test_start_carries_the_preroll_and_end_follows_the_trailing_silence() -> None:
    settings = VadSettings(start_ms=60, preroll_ms=150, trailing_silence_ms=90)
    ep = Endpointer(settings, by_first_byte)
    events = ep.feed(frames("....vv" + "v..v" + "..." + "...."))
    assert kinds(events)[0] == "speech-start"
    assert events[0].audio == frames("...vv")  # 150 ms pre-roll including the voiced onset
    assert kinds(events).count("speech-end") == 1
    end = next(e for e in events if e.type is VadEventType.END)
    assert end.at_ms == (6 + 4 + 3) * FRAME_MS
    audio = b"".join(e.audio for e in events if e.type is VadEventType.AUDIO)
    assert audio == frames("v..v...")


def test_noise_blips_do_not_open_an_utterance() -> None:
    ep = Endpointer(VadSettings(start_ms=90, preroll_ms=300), by_first_byte)
    assert ep.feed(frames("v....v....v....v....")) == []
    assert not ep.in_speech


def test_odd_chunk_sizes_give_the_same_events() -> None:
    pcm = frames("...vvvv......vvvv.......")
    whole = Endpointer(VadSettings(trailing_silence_ms=150), by_first_byte).feed(pcm)
    ep = Endpointer(VadSettings(trailing_silence_ms=150), by_first_byte)
    pieces = [pcm[i : i + 77] for i in range(0, len(pcm), 77)]
    split = [e for piece in pieces for e in ep.feed(piece)]
    assert kinds(split) == kinds(whole) and kinds(whole).count("speech-end") == 2
    assert [e.at_ms for e in split] == [e.at_ms for e in whole]


def test_max_utterance_cuts_and_flush_closes() -> None:
    ep = Endpointer(VadSettings(max_utterance_ms=300, start_ms=30, preroll_ms=30), by_first_byte)
    assert kinds(ep.feed(frames("v" * 12))).count("speech-end") == 1
    open_one = Endpointer(VadSettings(start_ms=30, preroll_ms=30), by_first_byte)
    open_one.feed(frames("vvv") + b"\x01" * 10)
    assert kinds(open_one.flush()) == ["audio", "speech-end"]
    assert open_one.flush() == []


@pytest.mark.parametrize("engine", ["webrtc", "silero"])
def test_both_classifiers_find_real_speech_and_ignore_silence(engine: str) -> None:
    speech = bytes(16000) + wav_to_pcm16(espeak_wav("안녕하세요")) + bytes(32000)
    events = Endpointer(VadSettings(engine=engine, trailing_silence_ms=600)).feed(speech)
    assert kinds(events)[0] == "speech-start" and kinds(events).count("speech-end") == 1
    start = events[0].at_ms
    assert 500 <= start <= 800  # speech begins after half a second of silence
    assert Endpointer(VadSettings(engine=engine)).feed(bytes(16000 * 2 * 5)) == []


def pink_noise(n: int, seed: int) -> np.ndarray:
    """1/f noise of unit power (a fan, an air conditioner)."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def test_over_steady_noise_silero_opens_one_utterance_where_webrtc_opens_them_on_the_noise() -> None:
    speech = np.frombuffer(wav_to_pcm16(espeak_wav("안녕하세요")), dtype="<i2").astype(np.float64)
    pcm = np.concatenate([np.zeros(16000), speech, np.zeros(32000)])
    noisy = pcm + pink_noise(len(pcm), 7) * np.sqrt(np.mean(speech**2) / 10)  # 10 dB SNR
    audio = np.clip(noisy, -32768, 32767).astype("<i2").tobytes()
    events = {
        engine: Endpointer(VadSettings(engine=engine, trailing_silence_ms=300)).feed(audio)
        for engine in ("webrtc", "silero")
    }
    silero = [(e.type, e.at_ms) for e in events["silero"] if e.type is not VadEventType.AUDIO]
    assert [t for t, _ in silero] == [VadEventType.START, VadEventType.END]
    assert 1000 <= silero[0][1] <= 1300, "opened by the speech, after a second of noise alone"
    webrtc_starts = [e.at_ms for e in events["webrtc"] if e.type is VadEventType.START]
    assert webrtc_starts[0] < 1000 and len(webrtc_starts) > 2, "the WebRTC VAD hears the noise as speech"


def test_silero_judges_30_ms_frames_by_its_32_ms_chunks_with_hysteresis() -> None:
    judge = SileroClassifier(0.5)
    probabilities = iter([0.9, 0.4, 0.3, 0.45])
    judge._vad = lambda chunk: next(probabilities)  # type: ignore[assignment,misc]
    frame = bytes(FRAME_BYTES)
    assert judge(frame) is False, "no whole chunk yet"
    assert [judge(frame) for _ in range(4)] == [True, True, False, False]
    assert SpeechSettings().vad().engine == "silero"
    with pytest.raises(ConfigError):
        SpeechSettings(vad_engine="nope").check()
