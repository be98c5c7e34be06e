"""A text turn end to end: device → its conversation → (serialised) dialogue → replies, idempotent.

Spoken turns go through here too (``bot/pipeline.py`` turns audio into the text of a TurnRequest),
so typed and spoken turns share serialisation, idempotency and the dialogue-state bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.dialogue import Dialogue, Reply
from bot.dialogue_state import DialogueState, NoStateReader, StateReader
from bot.errors import InputError
from bot.events import EventLog, EventType
from bot.store.db import session_scope, utcnow
from bot.store.models import Turn
from bot.store.repo import Principal, current_conversation, find_turn, touch_conversation

MAX_TURN_ID_CHARS = 80
MAX_TRACKED_DEVICES = 10_000
"""Dialogue states kept in memory (least recently used devices are forgotten first)."""


@dataclass(frozen=True)
class TurnRequest:
    """An authenticated device's utterance (already normalised)."""

    principal: Principal
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
    return DialogueState(state.intent, state.confidence, state.entities, state.awaiting, cards[-1])


def device_of(principal: Principal) -> tuple[int, int]:
    """(device id, household id) of a device token; 403 for other tokens."""
    if principal.device_id is None or principal.household_id is None:
        raise InputError("只有设备凭证可以对话", code="not_a_device", status=403)
    return principal.device_id, principal.household_id


def check_turn_id(turn_id: object) -> str | None:
    """A valid idempotency key or None; InputError otherwise."""
    if turn_id is None:
        return None
    if not isinstance(turn_id, str):
        raise InputError("turn_id 必须是字符串", code="bad_turn_id")
    if not 0 < len(turn_id) <= MAX_TURN_ID_CHARS:
        raise InputError("turn_id 格式不正确", code="bad_turn_id")
    return turn_id


class TurnRunner:
    """Runs turns one at a time per device, so Rasa never sees two messages of a sender at once."""

    def __init__(
        self,
        engine: Engine,
        dialogue: Dialogue,
        idle: timedelta,
        states: StateReader | None = None,
    ):
        self._engine = engine
        self._dialogue = dialogue
        self._idle = idle
        self._states_reader = states or NoStateReader()
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._states: OrderedDict[int, tuple[float, DialogueState]] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self.track_states = False
        """Also read the state of uninspected turns, in the background (grammar mode of the next
        spoken turn); the gateway turns it on when a recogniser is loaded."""

    async def stored(self, principal: Principal, turn_id: str | None) -> dict[str, Any] | None:
        """The outcome of an earlier turn of this device with ``turn_id``, if any."""
        device_id, _ = device_of(principal)
        turn_id = check_turn_id(turn_id)
        if turn_id is None:
            return None
        return await asyncio.to_thread(self._stored, device_id, turn_id)

    def state_of(self, principal: Principal) -> DialogueState | None:
        """The dialogue state after the device's latest turn (None when unknown or idle too long)."""
        entry = self._states.get(principal.device_id or -1)
        if entry is None or time.monotonic() - entry[0] > self._idle.total_seconds():
            return None
        return entry[1]

    async def run(
        self, request: TurnRequest, log: EventLog | None = None, *, end: bool = True
    ) -> dict[str, Any]:
        """Answer the turn, or return the stored outcome of an earlier turn with the same id.

        Events go to ``log`` as they happen (a live log streams them); ``end=False`` leaves the
        ``run-end`` event to the caller (the voice pipeline still speaks the replies).
        """
        device_id, household_id = device_of(request.principal)
        check_turn_id(request.turn_id)
        lock = self._locks.setdefault(device_id, asyncio.Lock())
        async with lock:
            if request.turn_id is not None:
                stored = await asyncio.to_thread(self._stored, device_id, request.turn_id)
                if stored is not None:
                    return stored
            return await self._run_locked(request, device_id, household_id, log or EventLog(), end)

    async def _run_locked(
        self, request: TurnRequest, device_id: int, household_id: int, log: EventLog, end: bool
    ) -> dict[str, Any]:
        conversation_id = await asyncio.to_thread(self._conversation, device_id, household_id)
        replies = await self._dialogue.respond(conversation_id, request.text)
        if request.inspect:
            state = await self._read_state(conversation_id, replies)
            self._remember(device_id, state)
            if state.intent is not None:
                log.add(EventType.INTENT, **state.intent_event())
        else:
            self._remember(device_id, with_card(DialogueState(), replies))
            if self.track_states:
                self._in_background(self._track(device_id, conversation_id, replies))
        log.add(EventType.DIALOGUE, replies=[r.to_json() for r in replies])
        for reply in replies:
            if reply.card is not None:
                log.add(EventType.CARD, card_type=reply.card.get("type"))
        if end:
            log.add(EventType.RUN_END)
        outcome: dict[str, Any] = {
            "turn_id": request.turn_id or uuid.uuid4().hex,
            "replies": [r.to_json() for r in replies],
            "events": log.to_json(),
        }
        if request.transcript is not None:
            outcome["transcript"] = request.transcript
        await asyncio.to_thread(self._finish, device_id, conversation_id, request.turn_id, outcome)
        return outcome

    async def _read_state(self, conversation_id: str, replies: list[Reply]) -> DialogueState:
        return with_card(await self._states_reader.read(conversation_id) or DialogueState(), replies)

    async def _track(self, device_id: int, conversation_id: str, replies: list[Reply]) -> None:
        self._remember(device_id, await self._read_state(conversation_id, replies))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Cancel background state reads still running (shutdown)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _remember(self, device_id: int, state: DialogueState) -> None:
        self._states.pop(device_id, None)
        self._states[device_id] = (time.monotonic(), state)
        while len(self._states) > MAX_TRACKED_DEVICES:
            self._states.popitem(last=False)

    def _stored(self, device_id: int, turn_id: str) -> dict[str, Any] | None:
        with session_scope(self._engine) as session:
            turn = find_turn(session, device_id, turn_id)
            return json.loads(turn.outcome) if turn else None

    def _conversation(self, device_id: int, household_id: int) -> str:
        with session_scope(self._engine) as session:
            return current_conversation(session, device_id, household_id, utcnow(), self._idle).id

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
