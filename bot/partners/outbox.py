"""The outbox's bookkeeping: claim due messages, record deliveries, back off, dead-letter.

A claim commits ``attempts + 1`` and a lease (``next_attempt_at`` moved past the call's timeout)
before the HTTP call, so a second gateway process does not send the same message concurrently and
a process killed mid-delivery leaves a message that is delivered again once the lease runs out.
Partners deduplicate on the idempotency key: delivery is at least once, effect exactly once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.store.journey import OutboxMessage
from bot.store.ledger import Application
from bot.store.models import Household

LEASE = timedelta(seconds=30)
"""A claimed message is not claimed again before this (longer than one delivery may take)."""
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0


@dataclass(frozen=True)
class Claimed:
    """A message claimed for one delivery attempt."""

    message_id: int
    tenant_id: str
    partner: str
    idempotency_key: str
    body: dict[str, Any]
    attempt: int


def claim_due(session: Session, now: datetime, limit: int = 10) -> list[Claimed]:
    """Claim up to ``limit`` pending messages that are due (commits the claims)."""
    due = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending", col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    claimed = []
    for row in due:
        seen = row.attempts  # the UPDATE below also refreshes ``row`` in the session
        won = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == row.id,
                col(OutboxMessage.attempts) == seen,
                col(OutboxMessage.state) == "pending",
            )
            .values(attempts=seen + 1, next_attempt_at=now + LEASE)
        )
        if won.rowcount == 1 and row.id is not None:  # type: ignore[attr-defined]
            body = dict(row.body)
            claimed.append(Claimed(row.id, row.tenant_id, row.partner, row.idempotency_key, body, seen + 1))
    session.commit()
    return claimed


def delivered(session: Session, message_id: int, now: datetime) -> None:
    """The partner accepted the message."""
    _set(session, message_id, state="delivered", delivered_at=now, last_error="")


def failed(
    session: Session, message_id: int, attempt: int, max_attempts: int, reason: str, now: datetime
) -> None:
    """Record a failed attempt: retry later with back-off, or dead-letter after ``max_attempts``."""
    if attempt >= max_attempts:
        _set(session, message_id, state="dead", last_error=f"{attempt} 次投递失败，最后一次：{reason}"[:300])
        return
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    _set(session, message_id, next_attempt_at=now + timedelta(seconds=delay), last_error=reason[:300])


def _set(session: Session, message_id: int, **values: Any) -> None:
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(**values))
    session.commit()


def admin_view(session: Session, tenant_id: str) -> dict[str, Any]:
    """Applications and deliveries of a tenant per state, and the deliveries (no household data)."""
    apps = session.exec(
        select(Application.state)
        .join(Household, col(Household.id) == col(Application.household_id))
        .where(Household.tenant_id == tenant_id)
    ).all()
    rows = session.exec(
        select(OutboxMessage, Application.state)
        .join(Application, col(Application.id) == col(OutboxMessage.application_id))
        .where(OutboxMessage.tenant_id == tenant_id)
        .order_by(col(OutboxMessage.id).desc())
        .limit(500)
    ).all()
    return {
        "applications_by_state": dict(Counter(apps)),
        "deliveries_by_state": dict(Counter(m.state for m, _ in rows)),
        "deliveries": [_delivery(m, state) for m, state in rows],
    }


def _delivery(m: OutboxMessage, app_state: str) -> dict[str, Any]:
    return {
        "application_id": m.application_id,
        "application_state": app_state,
        "partner": m.partner,
        "kind": m.kind,
        "state": m.state,
        "attempts": m.attempts,
        "last_error": m.last_error,
        "created_at": m.created_at.isoformat(),
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "terms": m.body.get("terms", {}),
    }
