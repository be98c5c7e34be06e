"""Write analytics rows idempotently and read aggregates back (sync; callers use ``to_thread``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.analytics.rows import EventRow
from bot.store.analytics import AnalyticsEvent
from bot.store.db import session_scope, utcnow


def record(engine: Engine, rows: Sequence[EventRow], *, now: datetime | None = None) -> int:
    """Store ``rows`` in one transaction, skipping keys already stored; return how many were new.

    Raises ``StoreError`` when the database fails (nothing of the batch is then stored).
    """
    if not rows:
        return 0
    values = [{**asdict(row), "recorded_at": now or utcnow()} for row in rows]
    with session_scope(engine) as session:
        return _insert_new(session, values)


def _insert_new(session: Session, values: list[dict[str, Any]]) -> int:
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module: Any = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(AnalyticsEvent).on_conflict_do_nothing(index_elements=["event_key"])
        result = session.execute(stmt.returning(col(AnalyticsEvent.id)), values)
        return len(result.all())
    keys = [v["event_key"] for v in values]
    known = set(session.exec(select(AnalyticsEvent.event_key).where(col(AnalyticsEvent.event_key).in_(keys))))
    fresh = [AnalyticsEvent(**v) for v in values if v["event_key"] not in known]
    session.add_all(fresh)
    return len(fresh)


@dataclass(frozen=True)
class Report:
    """Aggregates without personal data: counts per intent, response, card type and day."""

    intents: list[dict[str, Any]]
    """``{intent, turns, mean_confidence}`` by turns, most first."""
    responses: list[dict[str, Any]]
    """``{action, turns}`` of bot utterances, most first."""
    offers: list[dict[str, Any]]
    """``{card_type, offers}``, most first."""
    days: list[dict[str, Any]]
    """``{day, user_turns, bot_turns, offers, conversations}`` per UTC day, oldest first."""


def report(engine: Engine) -> Report:
    """Aggregate every stored analytics row."""
    with session_scope(engine) as session:
        return Report(
            intents=_intents(session),
            responses=_responses(session),
            offers=_offers(session),
            days=_days(session),
        )


def _intents(session: Session) -> list[dict[str, Any]]:
    ev = AnalyticsEvent
    turns = func.count(col(ev.id))
    stmt = (
        select(ev.intent, turns, func.avg(ev.confidence))
        .where(ev.kind == "turn", ev.event == "user")
        .group_by(col(ev.intent))
        .order_by(turns.desc(), col(ev.intent))
    )
    return [
        {"intent": name, "turns": n, "mean_confidence": None if avg is None else round(float(avg), 4)}
        for name, n, avg in session.exec(stmt)
    ]


def _responses(session: Session) -> list[dict[str, Any]]:
    ev = AnalyticsEvent
    turns = func.count(col(ev.id))
    stmt = (
        select(ev.action, turns)
        .where(ev.kind == "turn", ev.event == "bot")
        .group_by(col(ev.action))
        .order_by(turns.desc(), col(ev.action))
    )
    return [{"action": name, "turns": n} for name, n in session.exec(stmt)]


def _offers(session: Session) -> list[dict[str, Any]]:
    ev = AnalyticsEvent
    offers = func.count(col(ev.id))
    stmt = (
        select(ev.card_type, offers)
        .where(ev.kind == "offer")
        .group_by(col(ev.card_type))
        .order_by(offers.desc(), col(ev.card_type))
    )
    return [{"card_type": name, "offers": n} for name, n in session.exec(stmt)]


def _days(session: Session) -> list[dict[str, Any]]:
    ev = AnalyticsEvent
    day = func.date(col(ev.occurred_at))
    conversations = func.count(func.distinct(col(ev.conversation_id)))
    stmt = sa_select(day, col(ev.kind), col(ev.event), func.count(col(ev.id)), conversations)
    rows = session.execute(stmt.group_by(day, col(ev.kind), col(ev.event)).order_by(day)).all()
    days: dict[str, dict[str, Any]] = {}
    for when, kind, event, n, conversations in rows:
        entry = days.setdefault(
            str(when), {"day": str(when), "user_turns": 0, "bot_turns": 0, "offers": 0, "conversations": 0}
        )
        field = "offers" if kind == "offer" else f"{event}_turns"
        entry[field] = entry.get(field, 0) + n
        if kind == "turn" and event == "user":
            entry["conversations"] = conversations
    return list(days.values())
