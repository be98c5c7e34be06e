"""What every action needs: the database engine (created once, on first use), the household, and
the wording of ``domain.yml`` (rendered here only where a sentence must also be stored verbatim,
e.g. in the offer audit)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import load_config
from bot.store.db import make_engine, session_scope, utcnow
from bot.store.repo import HouseholdRef, household_of_conversation

_LOGGER = logging.getLogger(__name__)
_FIELD = re.compile(r"{([^\n{}]+?)}")

Events = list[dict[str, Any]]


@functools.cache
def engine() -> Engine:
    """The action server's engine, from the same layered config as every other process."""
    return make_engine(load_config().db_url)


def now() -> datetime:
    """The current time (aware UTC); a function so tests can move the clock."""
    return utcnow()


@contextmanager
def household_session(tracker: Tracker) -> Iterator[tuple[Session, HouseholdRef]]:
    """A DB session plus the household that owns this conversation (the Rasa sender id)."""
    with session_scope(engine()) as session:
        yield session, household_of_conversation(session, tracker.sender_id)


def latest_entity(tracker: Tracker, name: str) -> str | None:
    """The value of an entity in the latest user message (not a slot carried over)."""
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the latest user message."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def entity_or_slot(tracker: Tracker, name: str) -> str | None:
    """The entity of the latest message, else the slot of the same name."""
    value = latest_entity(tracker, name) or tracker.get_slot(name)
    return None if value in (None, "") else str(value)


def render(domain: Mapping[str, Any], response: str, **values: Any) -> str:
    """The first text variation of a response, filled like Rasa fills it (for audit rows)."""
    variations = domain.get("responses", {}).get(response) or []
    texts = [v["text"] for v in variations if isinstance(v, dict) and v.get("text")]
    if not texts:
        raise KeyError(f"response {response!r} has no text in domain.yml")
    return _FIELD.sub(lambda m: str(values[m.group(1)]), texts[0])


def say(
    dispatcher: CollectingDispatcher,
    response: str,
    card: dict[str, Any] | None = None,
    /,
    **values: Any,
) -> None:
    """Utter a domain response with its values, and the card that goes with it."""
    if card is None:
        dispatcher.utter_message(response=response, **values)
    else:
        dispatcher.utter_message(response=response, json_message=card, **values)


def awaiting(value: str | None) -> dict[str, Any]:
    """Set the yes/no question the assistant is waiting for (None: none)."""
    event: dict[str, Any] = SlotSet("awaiting", value)
    return event


def topic(value: str) -> dict[str, Any]:
    """Set the topic a bare ``inform`` (那冰箱呢) continues."""
    event: dict[str, Any] = SlotSet("topic", value)
    return event
