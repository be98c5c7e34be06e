"""Test kit for Rasa actions: a seeded database, tracker fixtures, running actions, rendering replies.

Actions run exactly as the action server runs them (same classes, same services, a real SQLite
database seeded with the demo), only the tracker is built here instead of arriving from Rasa.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.store.db import utcnow
from bot.store.models import Conversation, Device, Household

ROOT = Path(__file__).resolve().parents[1]
_FIELD = re.compile(r"{([^\n{}]+?)}")
FREE_WORDS = ("免息", "零利息", "0利息", "无息", "零息", "0息", "零利率", "0利率")
"""Words that claim "no interest": allowed only with an APR of exactly 0."""


@cache
def domain() -> dict[str, Any]:
    """domain.yml as the action server receives it."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


def responses() -> dict[str, list[str]]:
    """Every response's text variations."""
    return {
        name: [v["text"] for v in variants if v.get("text")]
        for name, variants in domain()["responses"].items()
    }


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Fill a template the way Rasa does; a missing value is an error here (Rasa would say the raw text)."""
    return _FIELD.sub(lambda m: str(values[m.group(1)]), template)


def open_conversation(engine: Engine, household: str, conversation_id: str) -> int:
    """A conversation of the household's first device; returns the household id."""
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == household)).one()
        device = session.exec(select(Device).where(Device.household_id == home.id)).first()
        if home.id is None or device is None or device.id is None:
            raise LookupError(household)
        now = utcnow()
        session.add(
            Conversation(
                id=conversation_id,
                household_id=home.id,
                device_id=device.id,
                started_at=now,
                last_turn_at=now,
            )
        )
        session.commit()
        return home.id


@dataclass
class Said:
    """One message the action sent: response name, its values, and the card."""

    response: str
    values: dict[str, Any]
    card: dict[str, Any] | None

    def texts(self) -> list[str]:
        """Every variation this message could be spoken as."""
        return [fill(t, self.values) for t in responses()[self.response]]


@dataclass
class Conversation_:
    """A conversation of one household: slots persist between turns like in Rasa."""

    sender: str
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    active_loop: str | None = None

    def tracker(self, intent: str, entities: Mapping[str, Any] | None = None, text: str = "") -> Tracker:
        """The tracker after a user message (entities also fill their slots, as Rasa mappings do)."""
        ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
        for key, value in (entities or {}).items():
            if key in domain()["slots"] and _from_entity(key):
                self.slots[key] = value
        message = {"intent": {"name": intent, "confidence": 0.9}, "entities": ents, "text": text}
        self.events.append({"event": "user", "text": text, "parse_data": message})
        loop = {"name": self.active_loop} if self.active_loop else {}
        return Tracker(
            self.sender, dict(self.slots), message, list(self.events), False, None, loop, "action_listen"
        )

    def run(
        self, action: Action, intent: str, entities: Mapping[str, Any] | None = None, text: str = ""
    ) -> list[Said]:
        """Run an action on a new user turn; apply its slot events; return what it said."""
        return self.run_on(action, self.tracker(intent, entities, text))

    def run_on(self, action: Action, tracker: Tracker) -> list[Said]:
        """Run an action on a given tracker."""
        dispatcher = CollectingDispatcher()
        result = action.run(dispatcher, tracker, domain())
        events = asyncio.run(result) if inspect.isawaitable(result) else result
        for event in events or []:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.append({"event": "action", "name": action.name()})
        return [
            Said(m.get("response") or "", _values(m), m.get("custom") or None) for m in dispatcher.messages
        ]


def _from_entity(slot: str) -> bool:
    return any(m.get("type") == "from_entity" for m in domain()["slots"][slot].get("mappings", []))


_MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}


def _values(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}


def names(said: list[Said]) -> list[str]:
    """The response names, in order."""
    return [s.response for s in said]


def card_of(said: list[Said], card_type: str) -> dict[str, Any]:
    """The first card of a type."""
    for s in said:
        if s.card and s.card.get("type") == card_type:
            return s.card
    raise AssertionError(f"no {card_type} card in {names(said)}")


def each_text(said: list[Said]) -> Iterator[str]:
    """Every variation of every message."""
    for s in said:
        yield from s.texts()


def talk(engine: Engine, household: str) -> Conversation_:
    """A new conversation of a demo household (张家 has consent, 李家 none)."""
    sender = uuid.uuid4().hex
    open_conversation(engine, household, sender)
    return Conversation_(sender)
