"""TTS: pyttsx3/espeak-ng with the Mandarin voice on one dedicated thread, and the watchdog that
replaces a hung engine."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.errors import InputError
from bot.speech.audio import read_header
from bot.speech.tts.base import TtsError
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech, VoiceSettings, sentences
from bot.speech.tts.worker import EngineWorker

BOT = str(Path(sys.executable).parent / "bot")


@pytest.fixture(scope="module")
def tts() -> Iterator[Pyttsx3TextToSpeech]:
    engine = Pyttsx3TextToSpeech()
    yield engine
    engine.close()


def pcm_of(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        return reader.readframes(reader.getnframes())


def test_mandarin_voice_reads_numbers_in_chinese(tmp_path: Path) -> None:
    """``bot speak`` says, byte for byte, what espeak-ng's Mandarin voice says for 每月一千零七十二元
    (compared on a fresh process: espeak-ng carries a little state from one utterance to the next)."""
    out = tmp_path / "say.wav"
    subprocess.run([BOT, "speak", "--out", str(out), "每月1,072.00元"], check=True, timeout=60)
    reference = subprocess.run(
        ["espeak-ng", "-v", "cmn", "-s", "175", "--stdout", "每月一千零七十二元"],
        capture_output=True,
        check=True,
    ).stdout
    assert pcm_of(out.read_bytes()) == reference[44:]
    digits = subprocess.run(
        ["espeak-ng", "-v", "cmn", "-s", "175", "--stdout", "每月1,072.00元"], capture_output=True, check=True
    ).stdout
    assert pcm_of(out.read_bytes()) != digits[44:]
    fmt = read_header(io.BytesIO(out.read_bytes()))
    assert (fmt.sample_rate, fmt.channels) == (22050, 1)


def seconds(wav: bytes) -> float:
    return len(pcm_of(wav)) / 2 / 22050


def test_repeated_and_concurrent_calls_all_work(tts: Pyttsx3TextToSpeech) -> None:
    text = "您好，这个月空调用了123.4度电。"
    first = seconds(tts.synthesize(text))
    assert all(seconds(tts.synthesize(text)) == pytest.approx(first, rel=0.02) for _ in range(5))
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(tts.synthesize("好的"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6
    for wav in results:
        samples = np.frombuffer(pcm_of(wav), dtype="<i2")
        assert len(samples) > 0.3 * tts.info.sample_rate and np.abs(samples).max() > 3000


def test_stream_yields_a_wav_per_sentence(tts: Pyttsx3TextToSpeech) -> None:
    text = "您好。年化利率13.03%，每月1,072.00元！总共12,864.00元。"
    parts = list(tts.synthesize_stream(text))
    assert len(parts) == 3
    assert sum(seconds(p) for p in parts) == pytest.approx(seconds(tts.synthesize(text)), rel=0.02)


def test_sentences_split_long_text_at_commas() -> None:
    long = "，".join(["这是一个比较长的句子片段"] * 12) + "。"
    parts = sentences(long)
    assert len(parts) > 1 and all(len(p) <= 80 for p in parts)
    assert "".join(parts) == long
    assert sentences("。。！") == []


def test_bad_text_is_refused(tts: Pyttsx3TextToSpeech) -> None:
    for text, code in (
        ("", "tts_text_empty"),
        ("。，！", "tts_text_empty"),
        ("长" * 1001, "tts_text_too_long"),
    ):
        with pytest.raises(InputError) as err:
            tts.synthesize(text)
        assert err.value.code == code


class FakeVoice:
    """An engine that hangs on the word 卡住 until released, like a wedged native call."""

    created = 0

    def __init__(self, release: threading.Event):
        FakeVoice.created += 1
        self.id = FakeVoice.created
        self.thread = threading.get_ident()
        self._release = release

    def render(self, text: str) -> tuple[int, int, str]:
        if text == "卡住":
            self._release.wait(30)
        return self.id, threading.get_ident(), text


def test_engine_lives_on_one_thread_and_a_hung_engine_is_replaced() -> None:
    release = threading.Event()
    worker: EngineWorker[FakeVoice] = EngineWorker(lambda: FakeVoice(release), timeout_s=0.5)
    first_id, thread, _ = worker.call(lambda v: v.render("你好"))
    assert all(worker.call(lambda v: v.render("再来"))[:2] == (first_id, thread) for _ in range(3))
    assert thread != threading.get_ident()
    with pytest.raises(TtsError) as err:
        worker.call(lambda v: v.render("卡住"))
    assert err.value.code == "tts_timeout" and worker.restarts == 1
    second_id, second_thread, text = worker.call(lambda v: v.render("恢复了"))
    assert (text, second_id != first_id, second_thread != thread) == ("恢复了", True, True)
    release.set()
    time.sleep(0.1)  # the abandoned thread wakes up; its late answer goes nowhere
    assert worker.call(lambda v: v.render("还在"))[0] == second_id
    worker.close()


def test_engine_errors_reach_the_caller_and_a_broken_start_is_retried() -> None:
    attempts = []

    def factory() -> FakeVoice:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("no espeak")
        return FakeVoice(threading.Event())

    worker: EngineWorker[FakeVoice] = EngineWorker(factory, timeout_s=2)
    with pytest.raises(TtsError) as err:
        worker.call(lambda v: v.render("你好"))
    assert err.value.code == "tts_unavailable"
    assert worker.call(lambda v: v.render("你好"))[2] == "你好"

    def boom(_: FakeVoice) -> None:
        raise ValueError("bad")

    with pytest.raises(TtsError) as err:
        worker.call(boom)
    assert err.value.code == "tts_failed"
    worker.close()


def test_engines_of_one_process_share_one_synthesiser(tts: Pyttsx3TextToSpeech) -> None:
    """libespeak-ng is one global synthesiser: a second engine in the process (the gateway's
    beside a CLI's) shares it, used from other threads at once it sounds as alone, and a
    different voice is refused instead of hanging both."""
    other = Pyttsx3TextToSpeech(tts.settings)
    try:
        text = "年化利率百分之十三点零三。"
        alone = seconds(tts.synthesize(text))
        durations: list[float] = []

        def speak(engine: Pyttsx3TextToSpeech) -> None:
            for _ in range(3):
                durations.append(seconds(engine.synthesize(text)))

        threads = [threading.Thread(target=speak, args=(e,)) for e in (tts, other, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert durations == [pytest.approx(alone, rel=0.02)] * 9
        with pytest.raises(TtsError) as err:
            Pyttsx3TextToSpeech(VoiceSettings(rate=tts.settings.rate + 60))
        assert err.value.code == "tts_voice_conflict"
    finally:
        other.close()
    assert seconds(tts.synthesize(text)) == pytest.approx(alone, rel=0.02), "closing one keeps the other"
