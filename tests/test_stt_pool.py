"""The bounded recogniser pool: a slot per utterance, stt_busy with Retry-After beyond it, reniced threads."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.conversation.pipeline import Speech, VoicePipeline
from bot.speech.audio import SAMPLE_RATE, pcm16_to_wav
from bot.speech.settings import SpeechSettings
from bot.speech.stt.pool import RecogniserPool, SttBusy
from tests.fakes import FakeDialogue, FakeStt, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.test_voice_ws import speech_audio, stream_run

WAV = {"Content-Type": "audio/wav", **ZHANG}


def test_slots_are_bounded_and_released_once() -> None:
    pool = RecogniserPool(2)
    try:
        first, _ = pool.acquire(), pool.acquire()
        with pytest.raises(SttBusy) as err:
            pool.acquire()
        assert err.value.code == "stt_busy" and err.value.status == 503 and err.value.retry_after_s > 0
        first.release()
        first.release()
        assert pool.in_use == 1
        pool.acquire()
        assert pool.in_use == 2
    finally:
        pool.close()


async def test_an_upload_waits_for_a_slot_in_a_queue_no_longer_than_the_pool() -> None:
    pool = RecogniserPool(1)
    try:
        held = pool.acquire()
        with pytest.raises(SttBusy):
            await pool.claim(0.1)  # nobody releases within the wait
        waiter = asyncio.create_task(pool.claim(5.0))
        await asyncio.sleep(0.1)
        with pytest.raises(SttBusy):
            await pool.claim(5.0)  # the queue (one waiter for a pool of one) is full: refused at once
        held.release()
        (await waiter).release()
        assert pool.in_use == 0
    finally:
        pool.close()


async def test_decoding_threads_run_at_lower_priority() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    nice = min(19, base + 3)
    pool = RecogniserPool(1, nice=nice)
    try:
        seen = await pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    finally:
        pool.close()
    assert seen == nice and os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


async def test_a_voice_run_beyond_the_pool_is_stt_busy_and_the_next_one_works(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    settings = SpeechSettings(recogniser_pool_size=1)
    speech = Speech(settings, stt=FakeStt(["空调用了多少电", "冰箱呢"]), tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), speech=speech)
    audio = speech_audio("你好", "cmn", SAMPLE_RATE)
    async with (
        client.ws_connect("/api/v1/voice", headers=ZHANG) as one,
        client.ws_connect("/api/v1/voice", headers=ZHANG) as two,
    ):
        await one.send_json({"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16"})
        await one.send_bytes(bytes(3200))
        await asyncio.sleep(0.2)  # the first run holds the only recogniser
        busy = await stream_run(two, b"", SAMPLE_RATE)
        error = next(e for e in busy if isinstance(e, dict) and e["type"] == "error")
        assert error["data"]["code"] == "stt_busy" and error["data"]["retry_after_s"] > 0
        resp = await client.post("/api/v1/converse/audio", data=pcm16_to_wav(audio), headers=WAV)
        assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
        assert (await resp.json())["error"]["code"] == "stt_busy"
        for i in range(0, len(audio), 3200):
            await one.send_bytes(audio[i : i + 3200])
        while True:
            msg = await asyncio.wait_for(one.receive(), 30)
            if msg.type.name == "TEXT" and '"run-end"' in msg.data:
                break
        assert speech.recognisers().in_use == 0
        again = await stream_run(two, audio, SAMPLE_RATE)
        assert any(isinstance(e, dict) and e["type"] == "stt-final" for e in again)


async def test_no_recogniser_slot_is_held_while_the_dialogue_state_is_fetched(
    aiohttp_client: Any, demo_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fetching the state can wait behind other turns: holding a slot then would refuse other voices."""
    settings = SpeechSettings(recogniser_pool_size=1)
    speech = Speech(settings, stt=FakeStt(["空调用了多少电", "冰箱呢"]), tts=FakeTts())
    held: list[int] = []

    async def grammar_for(self: VoicePipeline, device: object) -> None:
        held.append(speech.recognisers().in_use)

    monkeypatch.setattr(VoicePipeline, "grammar_for", grammar_for)
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), speech=speech)
    audio = speech_audio("你好", "cmn", SAMPLE_RATE)
    resp = await client.post("/api/v1/converse/audio", data=pcm16_to_wav(audio), headers=WAV)
    assert resp.status == 200
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        assert any(
            isinstance(e, dict) and e["type"] == "stt-final" for e in await stream_run(ws, audio, SAMPLE_RATE)
        )
    assert len(held) >= 2 and set(held) == {0} and speech.recognisers().in_use == 0
