"""A text turn end to end: device → its conversation → (serialised) dialogue → replies, idempotent.

Spoken turns go through here too (``bot.conversation.pipeline`` turns audio into the text of a
TurnRequest), so typed and spoken turns share serialisation, idempotency and the dialogue-state
bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.conversation.boundary import split
from bot.conversation.dialogue import Dialogue, Reply
from bot.conversation.dialogue_state import DialogueState, NoStateReader, StateReader
from bot.conversation.erasure import ERASED_CARD, complete_erasure
from bot.conversation.fairness import HouseholdGate
from bot.conversation.locks import DeviceLocks, LocalLocks
from bot.conversation.trackers import NoTrackers, TrackerEraseError, TrackerEraser
from bot.events import EventLog, EventType
from bot.store.db import session_scope, utcnow
from bot.store.models import Turn
from bot.store.repo import DeviceRef, current_conversation, find_turn, touch_conversation

_LOGGER = logging.getLogger(__name__)

MAX_TRACKED_DEVICES = 10_000
"""Dialogue states kept in memory (least recently used devices are forgotten first)."""
MAX_CONVERSATION_TURNS = 50
"""After this many turns a conversation is renewed at its next quiet point (nothing awaited). Rasa 3.6
rebuilds the whole tracker on every message and sends it to the action server on every action, so a
turn's cost grows with the conversation (~4x after 300 turns); the boundary costs the dialogue what
30 idle minutes cost it: the slots (the last device and period asked about) and the session's offer
cap start afresh (bench/RESULTS.md)."""


@dataclass(frozen=True)
class _Known:
    """What the runner knows of a device's dialogue state after its latest turn."""

    at: float
    """When the turn ended (monotonic)."""
    state: DialogueState
    unread: tuple[str, list[Reply]] | None = None
    """(conversation id, replies) of a turn whose state is still to be read from Rasa."""


@dataclass(frozen=True)
class TurnRequest:
    """A device's utterance, checked at the edge: normalised text and a valid ``turn_id`` or None."""

    device: DeviceRef
    text: str
    turn_id: str | None
    transcript: str | None = None
    """For spoken turns: what the recogniser heard; stored in the outcome."""
    inspect: bool = False
    """Read the dialogue state before answering (adds the ``intent`` event; costs a tracker read)."""


def with_card(state: DialogueState, replies: list[Reply]) -> DialogueState:
    """The state with the type of the last card of ``replies`` (when there is one)."""
    cards = [r.card.get("type") for r in replies if r.card is not None]
    if not cards or not isinstance(cards[-1], str):
        return state
    return replace(state, card_type=cards[-1])


class TurnRunner:
    """Runs turns one at a time per device, so Rasa never sees two messages of a sender at once, and
    lets them into the dialogue fairly between households (``bot.conversation.fairness``)."""

    def __init__(
        self,
        engine: Engine,
        dialogue: Dialogue,
        idle: timedelta,
        states: StateReader | None = None,
        locks: DeviceLocks | None = None,
        trackers: TrackerEraser | None = None,
        gate: HouseholdGate | None = None,
        finished: TrackerEraser | None = None,
    ):
        """``finished`` releases Rasa's copy of a conversation a device has left for a new one
        (after ``idle`` or ``MAX_CONVERSATION_TURNS``): nothing reads it again. Given where Rasa
        keeps conversations in memory (``bot.gateway.jobs.finished_conversations``)."""
        self._engine = engine
        self._gate = gate or HouseholdGate(0)
        self._trackers = trackers or NoTrackers()
        self._finished = finished or NoTrackers()
        self._dialogue = dialogue
        self._idle = idle
        self._states_reader = states or NoStateReader()
        self._locks = locks or LocalLocks()
        self._states: OrderedDict[int, _Known] = OrderedDict()
        self._turns: OrderedDict[str, int] = OrderedDict()
        """Turns of each recent conversation answered by this process."""

    @property
    def dialogue(self) -> Dialogue:
        """The dialogue the turns go to."""
        return self._dialogue

    async def stored(self, device: DeviceRef, turn_id: str | None) -> dict[str, Any] | None:
        """The outcome of an earlier turn of this device with ``turn_id``, if any."""
        if turn_id is None:
            return None
        return await asyncio.to_thread(self._stored, device.device_id, turn_id)

    async def state_of(self, device: DeviceRef) -> DialogueState | None:
        """The dialogue state after the device's latest turn (None when unknown or idle too long).

        A plain turn does not read Rasa's tracker (that costs Rasa as much as a small turn): the
        state is read here, once, when something needs it (grammar mode of the next spoken turn).
        """
        device_id = device.device_id
        known = self._states.get(device_id)
        if known is None or time.monotonic() - known.at > self._idle.total_seconds():
            return None
        if known.unread is not None:
            conversation_id, replies = known.unread
            self._remember(device_id, await self._read_state(conversation_id, replies), known.at)
            return self._states[device_id].state
        return known.state

    async def run(
        self,
        request: TurnRequest,
        log: EventLog | None = None,
        *,
        end: bool = True,
        on_replies: Callable[[list[Reply]], None] | None = None,
    ) -> dict[str, Any]:
        """Answer the turn, or return the stored outcome of an earlier turn with the same id.

        The outcome says whether the skill handled the turn (``handled``; ``reason`` when not, from
        the dialogue's boundary marker: ``bot.conversation.boundary``). Stored outcomes from before
        the flag existed have no ``handled`` key: they were handled.
        Events go to ``log`` as they happen (a live log streams them); ``end=False`` leaves the
        ``run-end`` event to the caller (the voice pipeline still speaks the replies);
        ``on_replies`` hears the replies as soon as the dialogue gave them, before the turn is
        recorded (the voice pipeline starts synthesising, and sends nothing until the turn is done).
        """
        device_id, household_id = request.device.device_id, request.device.household_id
        async with self._locks.hold(device_id):
            if request.turn_id is not None:
                stored = await asyncio.to_thread(self._stored, device_id, request.turn_id)
                if stored is not None:
                    return stored
            return await self._run(request, device_id, household_id, log or EventLog(), end, on_replies)

    async def _run(
        self,
        request: TurnRequest,
        device_id: int,
        household_id: int,
        log: EventLog,
        end: bool,
        on_replies: Callable[[list[Reply]], None] | None,
    ) -> dict[str, Any]:
        conversation_id, left = await asyncio.to_thread(self._conversation, device_id, household_id)
        async with self._gate.turn(household_id):  # only the dialogue's own work holds a slot
            if await self._worn_out(conversation_id):
                conversation_id, left = await asyncio.to_thread(
                    self._conversation, device_id, household_id, True
                )
            self._count(conversation_id)
            replies, verdict = split(await self._dialogue.respond(conversation_id, request.text))
            if on_replies is not None:
                on_replies(replies)
            state = await self._read_state(conversation_id, replies) if request.inspect else None
        if state is not None:
            self._remember(device_id, state)
            if state.intent is not None:
                log.add(EventType.INTENT, **state.intent_event())
        else:
            self._remember(device_id, with_card(DialogueState(), replies), unread=(conversation_id, replies))
        log.add(EventType.DIALOGUE, replies=[r.to_json() for r in replies])
        for reply in replies:
            if reply.card is not None:
                log.add(EventType.CARD, card_type=reply.card.get("type"))
        if end:
            log.add(EventType.RUN_END, **verdict.to_json())
        outcome: dict[str, Any] = {
            "turn_id": request.turn_id or uuid.uuid4().hex,
            "replies": [r.to_json() for r in replies],
            "events": log.to_json(),
            **verdict.to_json(),
        }
        if request.transcript is not None:
            outcome["transcript"] = request.transcript
        await asyncio.to_thread(self._finish, device_id, conversation_id, request.turn_id, outcome)
        if any(r.card is not None and r.card.get("type") == ERASED_CARD for r in replies):
            await complete_erasure(self._engine, self._trackers, household_id)  # Rasa is done with it
            self._states.pop(device_id, None)
        if left is not None:
            await self._finish_conversation(left)
        return outcome

    async def _finish_conversation(self, conversation_id: str) -> None:
        """Release Rasa's copy of a conversation the device has left (no other work depends on it)."""
        self._turns.pop(conversation_id, None)
        try:
            await self._finished.erase([conversation_id])
        except TrackerEraseError:
            _LOGGER.warning("a finished conversation stays in Rasa's memory: Rasa did not release it")

    async def _read_state(self, conversation_id: str, replies: list[Reply]) -> DialogueState:
        return with_card(await self._states_reader.read(conversation_id) or DialogueState(), replies)

    def _remember(
        self,
        device_id: int,
        state: DialogueState,
        at: float | None = None,
        unread: tuple[str, list[Reply]] | None = None,
    ) -> None:
        self._states.pop(device_id, None)
        self._states[device_id] = _Known(time.monotonic() if at is None else at, state, unread)
        while len(self._states) > MAX_TRACKED_DEVICES:
            self._states.popitem(last=False)

    def _stored(self, device_id: int, turn_id: str) -> dict[str, Any] | None:
        with session_scope(self._engine) as session:
            turn = find_turn(session, device_id, turn_id)
            return json.loads(turn.outcome) if turn else None

    async def _worn_out(self, conversation_id: str) -> bool:
        """Long enough to renew, and at a quiet point (the dialogue state is known and awaits nothing)."""
        if self._turns.get(conversation_id, 0) < MAX_CONVERSATION_TURNS:
            return False
        state = await self._states_reader.read(conversation_id)
        return state is not None and state.awaiting is None

    def _count(self, conversation_id: str) -> None:
        self._turns[conversation_id] = self._turns.pop(conversation_id, 0) + 1
        while len(self._turns) > MAX_TRACKED_DEVICES:
            self._turns.popitem(last=False)

    def _conversation(self, device_id: int, household_id: int, renew: bool = False) -> tuple[str, str | None]:
        """The conversation for the turn, and the one it replaces (None when it goes on)."""
        idle = timedelta(0) if renew else self._idle  # renew: the last turn is always "too old"
        with session_scope(self._engine) as session:
            conversation, left = current_conversation(session, device_id, household_id, utcnow(), idle)
            return conversation.id, left

    def _finish(
        self, device_id: int, conversation_id: str, turn_id: str | None, outcome: dict[str, Any]
    ) -> None:
        now = utcnow()
        with session_scope(self._engine) as session:
            touch_conversation(session, conversation_id, now)
            if turn_id is not None:
                session.add(
                    Turn(
                        device_id=device_id,
                        turn_key=turn_id,
                        conversation_id=conversation_id,
                        created_at=now,
                        outcome=json.dumps(outcome, ensure_ascii=False),
                    )
                )
