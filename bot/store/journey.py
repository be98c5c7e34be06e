"""Tables of the application journey: state history (also the household event stream), phone links,
the partner outbox and the partner decisions received.

``ApplicationEvent`` is append-only; its id orders a household's events, so a panel that reconnects
asks for everything after the last id it saw. ``OutboxMessage`` is written in the transaction that
changes the application; the dispatcher only reads it and records attempts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel


class ApplicationEvent(SQLModel, table=True):
    """One change of an application: created, confirmed, cancelled, expired or decided."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    kind: str = Field(max_length=20)
    """created, confirmed, cancelled, expired, decided."""
    state: str = Field(max_length=12)
    """The application's state after the change."""
    channel: str = Field(max_length=20)
    """Who caused it: voice, panel, phone, partner, system."""
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Decision reason category and the like; never personal data."""
    at: datetime = Field(index=True)


class PhoneLink(SQLModel, table=True):
    """A single-use, short-lived link to the phone page of one application (stored as its hash)."""

    token_hash: str = Field(primary_key=True, max_length=64)
    application_id: int = Field(foreign_key="application.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    """Set when the link confirmed or cancelled; a used link opens nothing."""


class OutboxMessage(SQLModel, table=True):
    """A message to a partner, written with the change it reports; delivered at least once."""

    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40, index=True)
    partner: str = Field(max_length=120)
    """The partner's legal name as in the audited terms."""
    kind: str = Field(max_length=20)
    """confirmation or cancellation."""
    idempotency_key: str = Field(max_length=80)
    """``app-<id>-<kind>``: the partner deduplicates on it."""
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: str = Field(default="pending", max_length=12, index=True)
    """pending, delivered, dead."""
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    last_error: str = Field(default="", max_length=300)
    """Why the last attempt failed (shown to the tenant admin)."""
    created_at: datetime
    delivered_at: datetime | None = None


class PartnerDecision(SQLModel, table=True):
    """A signed decision received from a partner, applied or ignored (with why)."""

    __table_args__ = (UniqueConstraint("partner", "idempotency_key", name="uq_decision_partner_key"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    partner: str = Field(max_length=40)
    """The partner's id in the tenant configuration (the callback URL's ``{partner}``)."""
    decision: str = Field(max_length=12)
    reason: str = Field(default="", max_length=40)
    idempotency_key: str = Field(max_length=80)
    outcome: str = Field(max_length=20)
    """applied, or why not: cancelled, out_of_order, not_confirmed."""
    received_at: datetime
