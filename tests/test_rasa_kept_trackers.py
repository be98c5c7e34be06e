"""``bot.rasa.kept_trackers`` (run in the engine environment): the trained model's agent, with a real
stack's action server answering its custom actions, holds three devices' conversations in the adapted
in-memory tracker store. Every read of a conversation equals stock Rasa's read of the JSON that stock
would have stored at the last save (the latest session and the whole conversation, across a new
session, and after conversations are pushed out of the kept ones), no stored event has changed by
the time it is read again, and erasing a conversation drops the dialogue-state replay kept for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import load_config
from bot.store.db import make_engine, session_scope
from bot.store.models import Conversation
from bot.testing.harness import RunningStack, make_stack
from tests.engine_kit import run_engine, trained_model

TOKENS = ("demo-zhang-speaker", "demo-zhang-panel", "demo-li-speaker")

SCRIPT = r"""
import asyncio, json, sys
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import EventVerbosity, get_trackers_for_conversation_sessions
from rasa.utils.endpoints import EndpointConfig
from bot.rasa import states
from bot.rasa.kept_trackers import keep_recent_conversations

model, actions_url, senders = sys.argv[1], sys.argv[2], sys.argv[3:]
applied = keep_recent_conversations(size=2)  # three senders: conversations are pushed out to text
applied = applied and states.replay_once_per_turn()  # as bot.rasa.serve applies both
kept_save, kept_retrieve = InMemoryTrackerStore.save, InMemoryTrackerStore._retrieve
dumped = {}  # sender -> what stock would hold: the JSON of the tracker at its last save
found = {"answers": 0, "reads": 0, "full_reads": 0, "sessions_split": 0, "from_text": 0,
         "differ": [], "changed": []}

def state(tracker):
    return json.dumps([tracker.current_state(EventVerbosity.ALL), tracker.active_loop,
                       tracker.followup_action, tracker._paused, tracker.latest_action,
                       {n: s.value for n, s in tracker.slots.items()}, len(tracker.events)],
                      sort_keys=True, default=str, ensure_ascii=False)

async def save(self, tracker):
    await kept_save(self, tracker)
    dumped[tracker.sender_id] = InMemoryTrackerStore.serialise_tracker(tracker)

async def _retrieve(self, sender_id, fetch_all_sessions):
    events = self._kept_conversations.events.get(sender_id) if hasattr(self, "_kept_conversations") else None
    got = await kept_retrieve(self, sender_id, fetch_all_sessions)
    if sender_id not in dumped:
        return got
    found["reads"] += 1
    found["full_reads"] += fetch_all_sessions
    found["from_text"] += events is None
    if events is not None and json.dumps(Dialogue(sender_id, events).as_dict()) != dumped[sender_id]:
        found["changed"].append(sender_id)
    stock = self.deserialise_tracker(sender_id, dumped[sender_id])
    sessions = get_trackers_for_conversation_sessions(stock)
    if not fetch_all_sessions and len(sessions) > 1:
        found["sessions_split"] += 1
        stock = sessions[-1]
    if state(got) != state(stock):
        found["differ"].append([sender_id, len(found["differ"])])
    return got

InMemoryTrackerStore.save, InMemoryTrackerStore._retrieve = save, _retrieve

TEXTS = ["你好", "我家空调这个月用了多少电", "换个一级能效的空调能省多少钱", "分十二期每个月多少钱",
         "好的", "确认", "冰箱上个月用了多少电", "冰箱还在保修期吗", "旧冰箱能以旧换新吗",
         "新风机分二十四期月供多少", "总共要多花多少钱", "不用了谢谢", "家里今年一共用了多少电",
         "积分能换什么", "你是机器人吗", "今天天气怎么样", "把客厅的灯打开", "拜拜"]

async def main():
    agent = Agent.load(model, action_endpoint=EndpointConfig(actions_url))
    for n, text in enumerate(TEXTS * 2):
        sender = senders[2] if n % 6 == 5 else senders[n % 2]  # the third pushes one out now and then
        found["answers"] += len(await agent.handle_text(text, sender_id=sender))
        if n == len(TEXTS):  # a new session inside a stored conversation: reads split it
            start = PolicyPrediction.for_action_name(agent.domain, "action_session_start")
            await agent.processor.execute_action(senders[0], "action_session_start",
                                                 CollectingOutputChannel(), agent.nlg, start)
    for sender in senders:
        await agent.tracker_store.retrieve_full_tracker(sender)
        await agent.tracker_store.retrieve(sender)
    # Erasure as the gateway does it (PUT .../tracker/events with no events): the replay goes too.
    erased = senders[1]
    found["replay_before_erasure"] = erased in states._REPLAYS
    await agent.tracker_store.save(agent.tracker_store.init_tracker(erased))
    found["replay_after_erasure"] = erased in states._REPLAYS
    found["events_after_erasure"] = len((await agent.tracker_store.retrieve(erased)).events)

asyncio.run(main())
print(json.dumps({"applied": applied, **found}, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A real stack whose action server answers the agent's actions."""
    running = make_stack(Path(tmp_path_factory.mktemp("kept-trackers")))
    running.start()
    yield running
    running.stop()


def conversations(stack: RunningStack) -> list[str]:
    """One conversation per device, opened by a turn through the gateway (the action server finds the
    household of a conversation in the database)."""
    for token in TOKENS:
        status, body = stack.converse(token, "你好")
        assert status == 200, body
    engine = make_engine(stack.db_url)
    try:
        with session_scope(engine) as session:
            return list(session.exec(select(Conversation.id).order_by(col(Conversation.started_at))).all())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def findings(stack: RunningStack) -> dict[str, Any]:
    """SCRIPT's findings, from the engine environment (the trained model, the stack's action server)."""
    senders = conversations(stack)
    actions_url = f"{load_config(env=stack.env).actions_url}/webhook"
    return run_engine(SCRIPT, str(trained_model()), actions_url, *senders, timeout=900)


def test_every_read_equals_stock_and_no_stored_event_changes(findings: dict[str, Any]) -> None:
    assert findings["applied"] is True
    assert findings["answers"] >= 36  # every text got an answer from the real actions or responses
    assert findings["reads"] >= 36 and findings["full_reads"] >= 3, findings  # a read per turn, and more
    assert findings["sessions_split"] >= 1 and findings["from_text"] >= 5, findings
    assert findings["differ"] == [] and findings["changed"] == []


def test_an_erased_conversation_leaves_no_replay_behind(findings: dict[str, Any]) -> None:
    assert findings["replay_before_erasure"] is True
    assert findings["replay_after_erasure"] is False
    assert findings["events_after_erasure"] == 0
