"""The erasure and retention jobs that need Rasa as well as the database (run by the gateway).

``erase_household``: Rasa's trackers first (a failure leaves everything as it was, and a retry does
it all), then every ERASE table in one transaction, then the database file scrubbed. A spoken
erasure (``action_delete_data``) cannot reach Rasa's trackers from inside Rasa's own turn, so the
gateway completes it after that turn (``complete_erasure``). ``sweep`` enforces the retention of
turn outcomes and conversations, and expires due applications.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.conversation.trackers import TrackerEraser
from bot.household import erasure
from bot.household.data_rights import ERASED_CARD, Erasure, erase_household_data
from bot.offers import applications
from bot.store.db import session_scope
from bot.store.models import Conversation, Turn

_LOGGER = logging.getLogger(__name__)
__all__ = ["ERASED_CARD", "complete_erasure", "erase_household", "scrub", "sweep"]


def scrub(engine: Engine) -> None:
    """SQLite: move the WAL into the (secure_delete) database file and truncate it, so deleted rows
    survive neither in free pages nor in the write-ahead log. PostgreSQL: autovacuum reclaims them."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _owned(engine: Engine, household_id: int) -> erasure.Owned:
    with session_scope(engine) as session:
        return erasure.owned(session, household_id)


async def erase_household(
    engine: Engine, trackers: TrackerEraser, household_id: int, *, now: datetime, channel: str, notice: str
) -> Erasure:
    """「删除我的数据」 in full: trackers, every ERASE table, consents withdrawn, file scrubbed."""
    ids = await asyncio.to_thread(_owned, engine, household_id)
    await trackers.erase(ids.conversations)

    def erase_rows() -> Erasure:
        with session_scope(engine) as session:
            return erase_household_data(
                session, household_id, notice_version=notice, now=now, channel=channel
            )

    erased = await asyncio.to_thread(erase_rows)
    late = [c for c in erased.conversations if c not in ids.conversations]
    await trackers.erase(late)  # a conversation started meanwhile
    await asyncio.to_thread(scrub, engine)
    return erased


async def complete_erasure(engine: Engine, trackers: TrackerEraser, household_id: int) -> dict[str, int]:
    """After a spoken erasure: the trackers, the conversation rows and the erasure turn itself."""
    ids = await asyncio.to_thread(_owned, engine, household_id)
    await trackers.erase(ids.conversations)

    def erase_rest() -> dict[str, int]:
        with session_scope(engine) as session:
            return erasure.erase_rows(session, ids)

    rows = await asyncio.to_thread(erase_rest)
    await asyncio.to_thread(scrub, engine)
    return rows


def _stale(engine: Engine, before: datetime) -> list[str]:
    with session_scope(engine) as session:
        query = select(col(Conversation.id)).where(col(Conversation.last_turn_at) < before)
        return [str(c) for c in session.execute(query).scalars()]


def _forget(engine: Engine, stale: list[str], before: datetime, now: datetime) -> tuple[int, int, int]:
    with session_scope(engine) as session:
        turns = session.execute(delete(Turn).where(col(Turn.created_at) < before)).rowcount  # type: ignore[attr-defined]
        session.execute(delete(Turn).where(col(Turn.conversation_id).in_(stale)))
        convs = session.execute(delete(Conversation).where(col(Conversation.id).in_(stale))).rowcount  # type: ignore[attr-defined]
        expired = applications.expire_due(session, now)
    return int(turns or 0), int(convs or 0), expired


async def sweep(
    engine: Engine, trackers: TrackerEraser, now: datetime, keep: timedelta
) -> tuple[int, int, int]:
    """Retention: turn outcomes and conversations (with their trackers) older than ``keep`` are
    deleted; due applications expire. Returns (turns, conversations, applications expired)."""
    before = now - keep
    stale = await asyncio.to_thread(_stale, engine, before)
    await trackers.erase(stale)
    done = await asyncio.to_thread(_forget, engine, stale, before, now)
    if done[0] or done[1]:
        await asyncio.to_thread(scrub, engine)
    return done
