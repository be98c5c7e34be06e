"""Through the real stack (embedded profile: Rasa's in-memory tracker store): when a device leaves a
conversation for a new one — after 30 idle minutes, or renewed after ``MAX_CONVERSATION_TURNS`` at a
quiet point — Rasa no longer holds what was said in the old one; the live conversation keeps its
own."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.conversation.rasa_auth import rasa_headers
from bot.conversation.turns import MAX_CONVERSATION_TURNS
from bot.store.db import make_engine
from bot.store.models import Conversation
from bot.testing import harness

TOKEN = "finished-test-rasa-token"
SPEAKER = "demo-zhang-speaker"


def tracker_events(stack: harness.RunningStack, sender: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{stack.env['BOT_RASA_PORT']}/conversations/{sender}/tracker?include_events=ALL"
    with urllib.request.urlopen(urllib.request.Request(url, headers=rasa_headers(TOKEN)), timeout=30) as resp:
        return list(json.loads(resp.read())["events"])


def said(events: list[dict[str, object]]) -> list[object]:
    return [e.get("text") for e in events if e.get("event") == "user"]


def conversations(stack: harness.RunningStack) -> list[str]:
    engine = make_engine(stack.db_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(Conversation).order_by(Conversation.started_at)).all()  # type: ignore[arg-type]
            return [c.id for c in rows]
    finally:
        engine.dispose()


def age(stack: harness.RunningStack, conversation_id: str, minutes: int) -> None:
    engine = make_engine(stack.db_url)
    try:
        with Session(engine) as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            conversation.last_turn_at -= timedelta(minutes=minutes)
            session.add(conversation)
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.stack
def test_rasa_releases_the_conversations_a_device_left(tmp_path: Path) -> None:
    stack = harness.make_stack(tmp_path / "var", {"BOT_RASA_TOKEN": TOKEN})
    stack.start()
    try:
        assert stack.converse(SPEAKER, "冰箱上个月用了多少电")[0] == 200
        [first] = conversations(stack)
        assert said(tracker_events(stack, first)) == ["冰箱上个月用了多少电"]

        age(stack, first, 31)  # idle: the next turn starts a new conversation
        assert stack.converse(SPEAKER, "你好")[0] == 200
        second = conversations(stack)[-1]
        assert second != first
        assert said(tracker_events(stack, first)) == []  # (reading an empty one starts a session)
        assert said(tracker_events(stack, second)) == ["你好"]

        for n in range(MAX_CONVERSATION_TURNS):  # worn out: renewed at the next quiet point
            assert stack.converse(SPEAKER, "家里这个月用了多少电" if n % 2 else "你好")[0] == 200
        third = conversations(stack)[-1]
        assert third not in (first, second)
        assert said(tracker_events(stack, second)) == []
        assert said(tracker_events(stack, third))
    finally:
        stack.stop()
