"""What actions read of a tracker's events fits the window Rasa now sends them
(``bot.rasa.action_calls``: events from the user message before the latest one).

Every read of the event list in ``actions/`` is one of the known readers, and each known reader
answers the same from the window as from the whole conversation. A new reader fails the first
test until it is added here, with its own check, or the window is widened.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker

from actions.fallback import previous_intent
from bot.config import PROJECT_ROOT
from bot.rasa.action_calls import window_start
from bot.topics.replay import last_answer

EVENT_READERS = frozenset(
    {"events", "applied_events", "events_after_latest_restart", "idx_after_latest_restart"}
    | {"get_last_event_for", "get_latest_input_channel", "last_executed_action_has", "current_state"}
)
"""rasa-sdk ``Tracker`` members that read its event list."""
KNOWN = {("fallback.py", "previous_intent"), ("everyday.py", "replay.last_answer")}
"""Where actions read events: in ``previous_intent``, or handed straight to ``replay.last_answer``."""


def event_reads(path: Path) -> set[tuple[str, str]]:
    """(file, reader) of each read of a tracker's events in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reads: set[tuple[str, str]] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "replay.last_answer":
                continue  # counted below as one reader
            if isinstance(node, ast.Attribute) and node.attr in EVENT_READERS:
                reads.add((path.name, func.name))
        for node in ast.walk(func):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "replay.last_answer":
                reads.discard((path.name, func.name))
                reads.add((path.name, "replay.last_answer"))
    return reads


def test_actions_read_events_only_where_the_window_is_known_to_suffice() -> None:
    found: set[tuple[str, str]] = set()
    for path in sorted((PROJECT_ROOT / "actions").glob("*.py")):
        found |= event_reads(path)
    assert found == KNOWN, "a new reader of tracker events: check it against USER_TURNS_SENT"


def test_the_scan_sees_a_reader() -> None:
    probe = PROJECT_ROOT / "actions" / "fallback.py"
    assert ("fallback.py", "previous_intent") in event_reads(probe)


INTENTS = ("greet", "nlu_fallback", "ask_energy_usage", "repeat", "inform")


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Event dicts as Rasa sends them: user turns, actions, bot messages (answers and lead-ins), slots."""
    events: list[dict[str, Any]] = [{"event": "action", "name": "action_session_start"}]
    for _ in range(draw(st.integers(0, 6))):
        intent = draw(st.sampled_from(INTENTS))
        events.append({"event": "user", "text": intent, "parse_data": {"intent": {"name": intent}}})
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(("bot", "slot", "action", "lead_in")))
            if kind == "bot":
                text = draw(st.sampled_from(("空调本月 120 度", "您好")))
                events.append({"event": "bot", "text": text, "data": {"custom": {"type": "energy"}}})
            elif kind == "lead_in":
                lead_in = {"utter_action": "utter_pace_slow"}
                events.append({"event": "bot", "text": "好的", "metadata": lead_in})
            elif kind == "slot":
                events.append({"event": "slot", "name": "topic", "value": "energy_usage"})
            else:
                events.append({"event": "action", "name": "action_energy_usage"})
        events.append({"event": "action", "name": "action_listen"})
    if draw(st.booleans()):
        events.append({"event": "user", "text": "再说一遍", "parse_data": {"intent": {"name": "repeat"}}})
    return events


def tracker(events: list[dict[str, Any]]) -> Tracker:
    state = {"sender_id": "h", "slots": {}, "latest_message": {}, "events": events, "paused": False}
    return Tracker.from_dict({**state, "active_loop": {}, "latest_action_name": None})


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_known_readers_answer_the_same_from_the_window(events: list[dict[str, Any]]) -> None:
    window = events[window_start([e["event"] for e in events]) :]
    assert previous_intent(tracker(window)) == previous_intent(tracker(events))
    assert last_answer(window) == last_answer(events)
