"""``POST /api/v1/nlu/parse``: designers only, same normalisation as a spoken turn, JSON errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.gateway.app import create_app
from tests.fakes import FakeDialogue

DESIGNER = {"Authorization": "Bearer demo-designer"}
SPEAKER = {"Authorization": "Bearer demo-zhang-speaker"}

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def dialogue() -> FakeDialogue:
    return FakeDialogue()


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue) -> Client:
    return await aiohttp_client(create_app(Config(actions_port=1), engine=demo_db, dialogue=dialogue))


async def test_designer_gets_the_parse_of_the_normalised_text(client: Client, dialogue: FakeDialogue) -> None:
    resp = await client.post(
        "/api/v1/nlu/parse", json={"text": "嗯 分 １２ 期 每 个 月 多少 钱"}, headers=DESIGNER
    )
    assert resp.status == 200
    body = await resp.json()
    assert dialogue.parsed == ["分12期每个月多少钱"]
    assert body["intent"] == {"name": "echo", "confidence": 1.0}
    assert set(body) == {"text", "intent", "entities", "intent_ranking"}
    assert dialogue.calls == []  # no conversation turn was run


async def test_device_tokens_cannot_use_the_designer_route(client: Client, dialogue: FakeDialogue) -> None:
    resp = await client.post("/api/v1/nlu/parse", json={"text": "你好"}, headers=SPEAKER)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
    assert dialogue.parsed == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {"text": "你好"}, 401, "missing_token"),
        ({"Authorization": "Bearer nope"}, {"text": "你好"}, 401, "invalid_token"),
        (DESIGNER, {"text": ""}, 400, "text_empty"),
        (DESIGNER, {"text": 3}, 400, "text_required"),
        (DESIGNER, {"text": "/greet"}, 400, "command_refused"),
        (DESIGNER, ["你好"], 400, "bad_json"),
    ],
)
async def test_bad_requests_get_a_clear_error(
    client: Client, headers: dict[str, str], body: Any, status: int, code: str
) -> None:
    resp = await client.post("/api/v1/nlu/parse", json=body, headers=headers)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_rasa_down_is_a_503_with_a_chinese_message(client: Client, dialogue: FakeDialogue) -> None:
    dialogue.down = True
    resp = await client.post("/api/v1/nlu/parse", json={"text": "你好"}, headers=DESIGNER)
    assert resp.status == 503
    error = (await resp.json())["error"]
    assert error["code"] == "dialogue_unavailable" and "抱歉" in error["message"]
