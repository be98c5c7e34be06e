"""What every action needs: the database engine (created once, on first use) and the household."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rasa_sdk import Tracker
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import load_config
from bot.store.db import make_engine, session_scope
from bot.store.repo import HouseholdRef, household_of_conversation

_LOGGER = logging.getLogger(__name__)


@functools.cache
def engine() -> Engine:
    """The action server's engine, from the same layered config as every other process."""
    return make_engine(load_config().db_url)


@contextmanager
def household_session(tracker: Tracker) -> Iterator[tuple[Session, HouseholdRef]]:
    """A DB session plus the household that owns this conversation (the Rasa sender id)."""
    with session_scope(engine()) as session:
        yield session, household_of_conversation(session, tracker.sender_id)


def latest_entity(tracker: Tracker, name: str) -> str | None:
    """The value of an entity in the latest user message (not a slot carried over)."""
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None
