"""What happens around an application's state changes: its history (which is also the household's
event stream), the partner outbox written in the same transaction, and the household's list.

Nothing here commits: callers (``bot.offers.applications``) add the rows to the session that
changes the application, so the change, its history entry and its outbox message commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import StoreError
from bot.store.journey import ApplicationEvent, OutboxMessage
from bot.store.ledger import Application, OfferAudit
from bot.store.models import Household

OUTBOX_KINDS = ("confirmation", "cancellation")
"""What the partner hears of: a confirmed application, and its cancellation inside the window."""


@dataclass(frozen=True)
class HouseholdEvent:
    """One entry of a household's event stream (``GET /api/v1/me/events``)."""

    event_id: int
    application_id: int
    offer_id: int
    kind: str
    state: str
    channel: str
    at: datetime
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The JSON a panel receives."""
        return {
            "event_id": self.event_id,
            "type": f"application.{self.kind}",
            "application_id": self.application_id,
            "offer_id": self.offer_id,
            "state": self.state,
            "channel": self.channel,
            "at": self.at.isoformat(),
            "detail": self.detail,
        }


def record_event(
    session: Session, row: Application, kind: str, channel: str, now: datetime, **detail: str
) -> None:
    """Add the history entry of a change of ``row`` (committed with the change)."""
    if row.id is None:
        session.flush()
    if row.id is None:
        raise StoreError("application row has no id")
    session.add(
        ApplicationEvent(
            application_id=row.id,
            household_id=row.household_id,
            kind=kind,
            state=row.state,
            channel=channel,
            detail=dict(detail),
            at=now,
        )
    )


def partner_of(terms: dict[str, str]) -> str:
    """The partner an application goes to: the lender of an installment, else the seller/provider."""
    return terms.get("partner") or terms.get("seller") or terms.get("provider") or ""


def enqueue(session: Session, row: Application, kind: str, now: datetime) -> None:
    """Add the outbox message telling the partner of ``kind`` (idempotent per application and kind);
    an installment's message names the amount actually financed (after any trade-in credits)."""
    key = f"app-{row.id}-{kind}"
    if session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first():
        return
    offer = session.get(OfferAudit, row.offer_id)
    household = session.get(Household, row.household_id)
    if offer is None or household is None or row.id is None:
        return
    body = {
        "kind": kind,
        "application_id": row.id,
        "tenant_id": household.tenant_id,
        "product_kind": row.kind,
        "terms": dict(offer.terms),
        "financed_principal": offer.terms.get("financed_principal"),
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
        "cancel_until": row.cancel_until.isoformat(),
        "idempotency_key": key,
    }
    session.add(
        OutboxMessage(
            application_id=row.id,
            tenant_id=household.tenant_id,
            partner=partner_of(offer.terms)[:120],
            kind=kind,
            idempotency_key=key,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
    )


def history(session: Session, application_id: int) -> list[dict[str, Any]]:
    """Every state change of an application, oldest first."""
    rows = session.exec(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application_id)
        .order_by(col(ApplicationEvent.id))
    ).all()
    return [
        {"state": r.state, "event": r.kind, "channel": r.channel, "at": r.at.isoformat(), **r.detail}
        for r in rows
    ]


def events_after(session: Session, household_id: int, after: int, limit: int = 200) -> list[HouseholdEvent]:
    """The household's events with an id above ``after`` (a reconnecting panel's catch-up)."""
    rows = session.exec(
        select(ApplicationEvent, Application.offer_id)
        .join(Application, col(Application.id) == col(ApplicationEvent.application_id))
        .where(ApplicationEvent.household_id == household_id, col(ApplicationEvent.id) > after)
        .order_by(col(ApplicationEvent.id))
        .limit(limit)
    ).all()
    return [
        HouseholdEvent(e.id or 0, e.application_id, offer_id, e.kind, e.state, e.channel, e.at, e.detail)
        for e, offer_id in rows
    ]


def last_event_id(session: Session, household_id: int | None = None) -> int:
    """The newest event id of a household, or of any household (the stream's watermark)."""
    query = select(ApplicationEvent.id).order_by(col(ApplicationEvent.id).desc()).limit(1)
    if household_id is not None:
        query = query.where(ApplicationEvent.household_id == household_id)
    return int(session.exec(query).first() or 0)


def households_with_events_after(session: Session, after: int) -> dict[int, int]:
    """Household id → its newest event id, for events above ``after``."""
    rows = session.exec(
        select(ApplicationEvent.household_id, ApplicationEvent.id).where(col(ApplicationEvent.id) > after)
    ).all()
    out: dict[int, int] = {}
    for household_id, event_id in rows:
        out[household_id] = max(out.get(household_id, 0), int(event_id or 0))
    return out
