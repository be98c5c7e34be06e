"""A text turn end to end: device → its conversation → (serialised) dialogue → replies, idempotent."""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.dialogue import Dialogue
from bot.errors import InputError
from bot.events import EventLog, EventType
from bot.store.db import session_scope, utcnow
from bot.store.models import Turn
from bot.store.repo import Principal, current_conversation, find_turn, touch_conversation

MAX_TURN_ID_CHARS = 80


@dataclass(frozen=True)
class TurnRequest:
    """An authenticated device's utterance (already normalised)."""

    principal: Principal
    text: str
    turn_id: str | None


class TurnRunner:
    """Runs turns one at a time per device, so Rasa never sees two messages of a sender at once."""

    def __init__(self, engine: Engine, dialogue: Dialogue, idle: timedelta):
        self._engine = engine
        self._dialogue = dialogue
        self._idle = idle
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def run(self, request: TurnRequest) -> dict[str, Any]:
        """Answer the turn, or return the stored outcome of an earlier turn with the same id."""
        device_id = request.principal.device_id
        if device_id is None or request.principal.household_id is None:
            raise InputError("只有设备凭证可以对话", code="not_a_device", status=403)
        if request.turn_id is not None and not 0 < len(request.turn_id) <= MAX_TURN_ID_CHARS:
            raise InputError("turn_id 格式不正确", code="bad_turn_id")
        lock = self._locks.setdefault(device_id, asyncio.Lock())
        async with lock:
            if request.turn_id is not None:
                stored = await asyncio.to_thread(self._stored, device_id, request.turn_id)
                if stored is not None:
                    return stored
            return await self._run_locked(request, device_id, request.principal.household_id)

    async def _run_locked(self, request: TurnRequest, device_id: int, household_id: int) -> dict[str, Any]:
        log = EventLog()
        conversation_id = await asyncio.to_thread(self._conversation, device_id, household_id)
        replies = await self._dialogue.respond(conversation_id, request.text)
        log.add(EventType.DIALOGUE, replies=len(replies))
        for reply in replies:
            if reply.card is not None:
                log.add(EventType.CARD, card_type=reply.card.get("type"))
        log.add(EventType.RUN_END)
        outcome = {
            "turn_id": request.turn_id or uuid.uuid4().hex,
            "replies": [r.to_json() for r in replies],
            "events": log.to_json(),
        }
        await asyncio.to_thread(self._finish, device_id, conversation_id, request.turn_id, outcome)
        return outcome

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
