from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Config
from bot.conversation.dialogue_state import DialogueState
from bot.conversation.pipeline import Speech
from bot.gateway.app import create_app
from bot.speech.audio import pcm16_to_wav
from bot.speech.settings import SpeechSettings
from bot.store.db import utcnow
from bot.store.models import Conversation
from tests.fakes import FakeDialogue, FakeStates, FakeStt
from tests.gateway_kit import OPERATOR, make_client, no_speech

ZHANG = {"Authorization": "Bearer demo-zhang-speaker"}
ZHANG_PANEL = {"Authorization": "Bearer demo-zhang-panel"}
LI = {"Authorization": "Bearer demo-li-speaker"}

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def dialogue() -> FakeDialogue:
    return FakeDialogue()


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue) -> Client:
    config = Config(
        actions_port=1, extra={"gateway": {"health_cache_s": 0}}
    )  # nothing listens there: the action server reads as down
    return await aiohttp_client(create_app(config, engine=demo_db, dialogue=dialogue, speech=no_speech()))


async def say(client: Client, text: str, headers: dict[str, str], **extra: Any) -> Any:
    return await client.post("/api/v1/converse", json={"text": text, **extra}, headers=headers)


async def test_a_turn_returns_replies_with_cards_and_events(client: Client) -> None:
    resp = await say(client, "空调 这个 月 用了 多少 电", ZHANG)
    assert resp.status == 200
    body = await resp.json()
    assert body["replies"] == [
        {
            "text": "echo:空调这个月用了多少电",
            "card": {"type": "echo", "title": "空调这个月用了多少电"},
        }
    ]
    assert [e["type"] for e in body["events"]] == ["dialogue", "card", "run-end"]
    assert body["turn_id"]


async def test_sender_is_derived_from_the_device_not_the_request(
    client: Client, dialogue: FakeDialogue, demo_db: Engine
) -> None:
    await say(client, "你好", ZHANG, sender="someone-else")
    await say(client, "你好", ZHANG)
    await say(client, "你好", ZHANG_PANEL)
    await say(client, "你好", LI)
    senders = [s for s, _ in dialogue.calls]
    assert senders[0] == senders[1] != "someone-else"
    assert len(set(senders)) == 3
    with Session(demo_db) as session:
        conv = session.get(Conversation, senders[0])
        assert conv is not None
        other = session.get(Conversation, senders[3])
        assert other is not None and other.household_id != conv.household_id


async def test_an_idle_conversation_is_replaced_by_a_new_one(
    client: Client, dialogue: FakeDialogue, demo_db: Engine
) -> None:
    await say(client, "你好", ZHANG)
    with Session(demo_db) as session:
        conv = session.exec(select(Conversation)).one()
        conv.last_turn_at = utcnow() - timedelta(minutes=31)
        session.add(conv)
        session.commit()
    await say(client, "你好", ZHANG)
    assert dialogue.calls[0][0] != dialogue.calls[1][0]


async def test_a_repeated_turn_id_returns_the_first_outcome_without_rerunning(
    client: Client, dialogue: FakeDialogue
) -> None:
    first = await (await say(client, "冰箱用了多少电", ZHANG, turn_id="t-1")).json()
    again = await (await say(client, "冰箱用了多少电", ZHANG, turn_id="t-1")).json()
    assert again == first
    assert len(dialogue.calls) == 1
    other_device = await (await say(client, "冰箱用了多少电", LI, turn_id="t-1")).json()
    assert other_device["replies"] and len(dialogue.calls) == 2


async def test_turns_of_one_device_never_overlap(client: Client, dialogue: FakeDialogue) -> None:
    dialogue.delay_s = 0.05
    responses = await asyncio.gather(*(say(client, f"第{i}句", ZHANG) for i in range(5)))
    assert all(r.status == 200 for r in responses)
    assert dialogue.max_active == 1
    dialogue.max_active = 0
    await asyncio.gather(say(client, "一", ZHANG), say(client, "二", LI))
    assert dialogue.max_active == 2, "different households are not serialised behind each other"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Bearer forged"}, 401, "invalid_token"),
        ({"Authorization": "Basic abc"}, 401, "missing_token"),
        ({"Authorization": "Bearer demo-designer"}, 403, "not_a_device"),
    ],
)
async def test_callers_without_a_device_token_are_refused(
    client: Client, dialogue: FakeDialogue, headers: dict[str, str], status: int, code: str
) -> None:
    resp = await say(client, "你好", headers)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code
    assert dialogue.calls == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "/greet"}, "command_refused"),
        ({"text": ""}, "text_empty"),
        ({}, "text_required"),
        ({"text": "你好", "turn_id": 5}, "bad_turn_id"),
        ({"text": "你好", "turn_id": "x" * 81}, "bad_turn_id"),
    ],
)
async def test_bad_bodies_get_a_clear_400(
    client: Client, dialogue: FakeDialogue, body: dict[str, Any], code: str
) -> None:
    resp = await client.post("/api/v1/converse", json=body, headers=ZHANG)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == code
    assert dialogue.calls == []


async def test_non_json_and_huge_bodies_are_refused(client: Client) -> None:
    resp = await client.post("/api/v1/converse", data="text=hi", headers=ZHANG)
    assert resp.status == 415
    resp = await client.post(
        "/api/v1/converse", data=b"{" * 10, headers={**ZHANG, "Content-Type": "application/json"}
    )
    assert (await resp.json())["error"]["code"] == "bad_json"
    big = {"text": "电" * 40000}
    resp = await client.post("/api/v1/converse", json=big, headers=ZHANG)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"


async def test_dialogue_failure_is_a_503_with_an_apology(client: Client, dialogue: FakeDialogue) -> None:
    dialogue.down = True
    resp = await say(client, "你好", ZHANG)
    assert resp.status == 503
    error = (await resp.json())["error"]
    assert error["code"] == "dialogue_unavailable" and "抱歉" in error["message"]


async def test_health_reports_each_component(client: Client, dialogue: FakeDialogue) -> None:
    resp = await client.get("/healthz", headers=OPERATOR)
    body = await resp.json()
    assert resp.status == 503, "the action server is not running in this test"
    assert body["components"]["database"] == {"ok": True}
    assert body["components"]["rasa"] == {"ok": True, "model": "fake"}
    assert body["components"]["actions"]["ok"] is False
    dialogue.down = True
    body = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert body["components"]["rasa"]["ok"] is False


async def test_unknown_routes_are_json_404(client: Client) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_health_names_the_folder_to_provision_when_no_speech_model_is_there(
    aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue, tmp_path: Path
) -> None:
    config = Config(actions_port=1, models_dir=tmp_path / "models", extra={"gateway": {"health_cache_s": 0}})
    client = await aiohttp_client(create_app(config, engine=demo_db, dialogue=dialogue))
    body = await (await client.get("/healthz", headers=OPERATOR)).json()
    stt = body["components"]["stt"]
    assert stt["ok"] is False and stt["required"] is False
    assert str(tmp_path / "models" / "stt" / "vosk-model-small-cn-0.22") in stt["error"]
    assert body["components"]["tts"]["ok"] is True, "espeak-ng is installed here"
    turn = await say(client, "你好", ZHANG)
    assert turn.status == 200, "text turns work without a recogniser"
    spoken = await client.post(
        "/api/v1/converse/audio", data=b"RIFF", headers={**ZHANG, "Content-Type": "audio/wav"}
    )
    assert spoken.status == 503
    assert (await spoken.json())["error"]["code"] == "stt_unavailable"


async def test_health_is_200_degraded_when_only_speech_is_down(
    aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue
) -> None:
    from aiohttp import web

    health = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    health.router.add_get("/health", ok)
    actions = await aiohttp_client(health)
    config = Config(actions_port=actions.port, extra={"gateway": {"health_cache_s": 0}})
    client = await aiohttp_client(create_app(config, engine=demo_db, dialogue=dialogue, speech=no_speech()))
    resp = await client.get("/healthz", headers=OPERATOR)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "degraded"
    dialogue.down = True
    resp = await client.get("/healthz", headers=OPERATOR)
    assert resp.status == 503 and (await resp.json())["status"] == "down"


async def test_debug_turns_carry_the_intent_and_plain_turns_do_not_wait_for_it(
    aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue
) -> None:
    states = FakeStates(DialogueState(intent="ask_energy_usage", confidence=0.93, awaiting="consent"))
    client = await make_client(aiohttp_client, demo_db, dialogue, states=states)
    plain = await (await say(client, "空调用了多少电", ZHANG)).json()
    assert "intent" not in [e["type"] for e in plain["events"]]
    assert states.read_for == [], "no recogniser loaded: nothing needs the state of a typed turn"
    debug = await (await say(client, "空调用了多少电", ZHANG, debug=True)).json()
    assert [e["type"] for e in debug["events"]] == ["intent", "dialogue", "card", "run-end"]
    assert debug["events"][0]["data"]["name"] == "ask_energy_usage"
    bad = await say(client, "你好", ZHANG, debug="yes")
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "bad_debug"


async def test_the_state_of_a_typed_turn_is_read_only_when_the_next_spoken_turn_needs_it(
    aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue
) -> None:
    states = FakeStates(DialogueState(awaiting="confirm"))
    speech = Speech(SpeechSettings(), stt=FakeStt([]))
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech, states=states)
    body = await (await say(client, "好的", ZHANG)).json()
    assert "intent" not in [e["type"] for e in body["events"]]
    assert states.read_for == [], "a typed turn does not read Rasa's tracker"
    wav = pcm16_to_wav(bytes(32000))
    headers = {**ZHANG, "Content-Type": "audio/wav"}
    spoken = await client.post("/api/v1/converse/audio", data=wav, headers=headers)
    assert spoken.status == 422, await spoken.text()
    assert states.read_for == [dialogue.calls[0][0]], "grammar mode of the spoken turn needs the state"
    await client.post("/api/v1/converse/audio", data=wav, headers=headers)
    assert len(states.read_for) == 1, "read once"
