"""Faults at the gateway: the error body of a turn carries its ``error`` event; a database refusing
writes turns ``/healthz`` red; a crashing recogniser (the real Vosk model behind a session that dies)
and a hanging synthesiser (the real watchdog worker) end in an apology, and the next turn works.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.conversation.pipeline import Speech
from bot.speech.audio import wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.speech.stt.base import SttError, SttInfo, SttSession
from bot.speech.tts.worker import EngineWorker
from tests.fakes import FakeDialogue, FakeStt, FakeTts, silence_wav
from tests.fault_kit import DISK_FULL_TRIGGER, assert_apology, is_chinese
from tests.gateway_kit import OPERATOR, ZHANG, make_client
from tests.speech_fixtures import espeak_wav, korean_engine


async def test_a_failed_turn_has_one_error_event_with_a_short_apology(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    engine = demo_db
    client = await make_client(aiohttp_client, engine, FakeDialogue(down=True))
    resp = await client.post("/api/v1/converse", json={"text": "你好", "turn_id": "t-1"}, headers=ZHANG)
    assert_apology(resp.status, await resp.json())


async def test_a_database_refusing_writes_is_red_until_a_turn_is_recorded(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    engine = demo_db
    client = await make_client(aiohttp_client, engine, FakeDialogue())
    with engine.begin() as conn:
        conn.execute(text(DISK_FULL_TRIGGER))
    resp = await client.post("/api/v1/converse", json={"text": "你好", "turn_id": "t-1"}, headers=ZHANG)
    assert resp.status == 503 and (await resp.json())["error"]["code"] == "store_unavailable"
    health = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert health["components"]["database"]["ok"] is False, "SELECT 1 works, but turns cannot be recorded"
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER disk_full"))
    resp = await client.post("/api/v1/converse", json={"text": "你好", "turn_id": "t-1"}, headers=ZHANG)
    assert resp.status == 200, "the failed turn left nothing behind: the same turn id runs now"
    health = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert health["components"]["database"]["ok"] is True


class CrashingStt:
    """The real Vosk engine, except that its first session crashes mid-utterance (as a dying worker)."""

    def __init__(self) -> None:
        self.engine = korean_engine()
        self.crashes = 1

    @property
    def info(self) -> SttInfo:
        return self.engine.info

    def start(self, grammar: Sequence[str] | None = None) -> SttSession:
        session = self.engine.start(grammar)
        if self.crashes:
            self.crashes -= 1
            return _Crashing(session)
        return session


class _Crashing:
    def __init__(self, inner: SttSession) -> None:
        self._inner, self._fed = inner, 0

    def accept(self, pcm: bytes) -> str | None:
        self._fed += 1
        if self._fed > 3:
            raise SttError("recogniser worker crashed", code="stt_crashed")
        return self._inner.accept(pcm)

    def finish(self) -> str:
        raise SttError("recogniser worker crashed", code="stt_crashed")


class HangingTts(FakeTts):
    """Synthesis through the real watchdog worker (``bot.speech.tts.worker``) whose engine hangs once."""

    def __init__(self) -> None:
        super().__init__()
        self.hangs = 1
        self.worker: EngineWorker[HangingTts] = EngineWorker(lambda: self, timeout_s=1.0, name="tts-hang")

    def _render(self, text: str) -> bytes:
        if self.hangs:
            self.hangs -= 1
            time.sleep(5)
        return silence_wav(0.1)

    def synthesize_stream(self, text: str, pace: float = 1.0) -> Iterator[bytes]:
        self.said.append(text)
        yield self.worker.call(lambda engine: engine._render(text))


async def test_recogniser_crash_is_an_apology_and_the_next_spoken_turn_works(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    engine = demo_db
    speech = Speech(SpeechSettings(), stt=CrashingStt(), tts=FakeTts())
    client = await make_client(aiohttp_client, engine, FakeDialogue(), speech=speech)
    wav = espeak_wav("안녕하세요 감사합니다")
    headers = {**ZHANG, "Content-Type": "audio/wav"}
    resp = await client.post(
        "/api/v1/converse/audio", data=wav, headers={**headers, "Idempotency-Key": "a-1"}
    )
    assert_apology(resp.status, await resp.json())
    health = await (await client.get("/healthz", headers=OPERATOR)).json()
    stt = health["components"]["stt"]
    assert (stt["ok"], stt["required"], stt["error"]) == (False, False, "stt_crashed"), stt
    resp = await client.post(
        "/api/v1/converse/audio", data=wav, headers={**headers, "Idempotency-Key": "a-1"}
    )
    body = await resp.json()
    assert resp.status == 200 and body["transcript"] and body["replies"], body
    health = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert health["components"]["stt"]["ok"] is True, "green again once it recognised an utterance"


async def test_synthesiser_hang_is_cut_by_the_watchdog_and_the_next_run_speaks(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    engine = demo_db
    tts = HangingTts()
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好", "你好"]), tts=tts)
    client = await make_client(aiohttp_client, engine, FakeDialogue(), speech=speech)
    pcm = bytes(16000) + wav_to_pcm16(espeak_wav("你好你好", "cmn")) + bytes(16000 * 3)
    try:
        async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
            first = await voice_run(ws, pcm)
            red = (await (await client.get("/healthz", headers=OPERATOR)).json())["components"]["tts"]
            second = await voice_run(ws, pcm)
            green = (await (await client.get("/healthz", headers=OPERATOR)).json())["components"]["tts"]
    finally:
        tts.worker.close()
    assert (red["ok"], red["error"], green["ok"]) == (False, "tts_timeout", True), (red, green)
    errors = [e for e in first if isinstance(e, dict) and e["type"] == "error"]
    assert [e["data"]["code"] for e in errors] == ["tts_timeout"], first
    assert is_chinese(errors[0]["data"]["message"]) and first[-1]["type"] == "run-end"
    assert any(isinstance(e, dict) and e["type"] == "dialogue" for e in first), "the text answer still came"
    assert any(isinstance(item, bytes) for item in second), "the restarted engine speaks again"
    assert tts.worker.restarts == 1


async def voice_run(ws: aiohttp.ClientWebSocketResponse, pcm: bytes) -> list[Any]:
    """Stream one utterance at 16 kHz and collect everything until run-end."""
    await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16"})
    for i in range(0, len(pcm), 3200):
        await ws.send_bytes(pcm[i : i + 3200])
    received: list[Any] = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout=60)
        if msg.type == aiohttp.WSMsgType.BINARY:
            received.append(msg.data)
            continue
        event = json.loads(msg.data)
        received.append(event)
        if event["type"] == "run-end":
            return received
