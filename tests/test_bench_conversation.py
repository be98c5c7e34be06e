"""The fix behind ``long_conversation_latency_ratio``: a long conversation is renewed at a quiet point.

Real database (the demo seed), the echoing fake dialogue and a fixed dialogue state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.conversation.dialogue_state import DialogueState
from bot.conversation.turns import MAX_CONVERSATION_TURNS, TurnRequest, TurnRunner
from bot.store.db import session_scope
from bot.store.models import Conversation
from bot.store.repo import authenticate
from tests.fakes import FakeDialogue, FakeStates, RecordingTrackers


def talk(
    demo_db: Engine, states: FakeStates | None, turns: int, finished: RecordingTrackers | None = None
) -> FakeDialogue:
    """``turns`` text turns of one device; returns the dialogue that saw them."""
    dialogue = FakeDialogue()
    runner = TurnRunner(demo_db, dialogue, timedelta(minutes=30), states, finished=finished)
    with session_scope(demo_db) as session:
        principal = authenticate(session, "demo-zhang-speaker")

    async def run() -> None:
        for i in range(turns):
            await runner.run(TurnRequest(principal.device(), f"第{i}句", None))

    asyncio.run(run())
    return dialogue


def senders(dialogue: FakeDialogue) -> list[str]:
    return list(dict.fromkeys(sender for sender, _ in dialogue.calls))


def test_a_long_conversation_is_renewed_when_nothing_is_awaited(demo_db: Engine) -> None:
    dialogue = talk(demo_db, FakeStates(DialogueState(awaiting=None)), 2 * MAX_CONVERSATION_TURNS + 1)
    used = senders(dialogue)
    assert len(used) == 3
    first = [s for s, _ in dialogue.calls].count(used[0])
    assert first == MAX_CONVERSATION_TURNS
    with session_scope(demo_db) as session:
        stored = session.exec(select(Conversation.id)).all()
    assert set(used) <= set(stored)


def test_no_renewal_while_the_dialogue_awaits_an_answer(demo_db: Engine) -> None:
    dialogue = talk(demo_db, FakeStates(DialogueState(awaiting="confirm")), MAX_CONVERSATION_TURNS + 5)
    assert len(senders(dialogue)) == 1


def test_no_renewal_when_the_state_is_unknown(demo_db: Engine) -> None:
    assert len(senders(talk(demo_db, None, MAX_CONVERSATION_TURNS + 5))) == 1


def test_a_renewed_conversation_is_released_from_rasa(demo_db: Engine) -> None:
    finished = RecordingTrackers()
    dialogue = talk(
        demo_db, FakeStates(DialogueState(awaiting=None)), 2 * MAX_CONVERSATION_TURNS + 1, finished
    )
    assert finished.erased == senders(dialogue)[:2]  # each left for the next, once; the live one kept


def test_a_conversation_left_after_idle_minutes_is_released(demo_db: Engine) -> None:
    finished = RecordingTrackers()
    first = senders(talk(demo_db, None, 2, finished))
    assert finished.erased == []
    with session_scope(demo_db) as session:
        conversation = session.get(Conversation, first[0])
        assert conversation is not None
        conversation.last_turn_at -= timedelta(minutes=31)
        session.add(conversation)
    second = senders(talk(demo_db, None, 1, finished))
    assert second != first and finished.erased == first


def test_a_turn_is_answered_when_rasa_cannot_release_the_old_conversation(demo_db: Engine) -> None:
    finished = RecordingTrackers(fail=True)
    dialogue = talk(demo_db, FakeStates(DialogueState(awaiting=None)), MAX_CONVERSATION_TURNS + 2, finished)
    assert len(dialogue.calls) == MAX_CONVERSATION_TURNS + 2 and len(senders(dialogue)) == 2
