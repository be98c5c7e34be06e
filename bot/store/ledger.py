"""Tables of the offer side: offer audit, applications, offer preferences, green-points ledger.

The audit and points tables are append-only; an application row changes only along its state machine
(``bot.offers.applications``). Money and rates are ``Decimal`` columns, points are whole numbers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel


class OfferAudit(SQLModel, table=True):
    """One offer exactly as it was made, written (and committed) before it is returned or spoken."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    session_id: str = Field(index=True, max_length=40)
    """Conversation id (the Rasa sender) the offer was made in."""
    kind: str = Field(max_length=20)
    """An ``OfferKind`` value."""
    subject: str = Field(max_length=80)
    """SKU, device id or plan the offer is about."""
    topic: str | None = Field(default=None, max_length=40)
    """Topic of the turn the offer was made in."""
    proactive: bool
    """True when the assistant offered on its own (counts against the caps)."""
    terms: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    """Terms as shown: money and rates as decimal strings."""
    apr: Decimal | None = Field(default=None, max_digits=9, decimal_places=6)
    """Annual percentage rate (IRR method) when the offer has one."""
    explanation: str = Field(max_length=500)
    """Why this offer fits, from which data (answers "why this offer")."""
    data_scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    """Consent scopes whose data the offer used."""
    consent_refs: list[int] = Field(default_factory=list, sa_type=JSON)
    """Ids of the consent events in force for those scopes."""
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Everything the decision was made from (context, candidate inputs, refused candidates)."""
    text: str = Field(max_length=500)
    """The sentence spoken or shown."""
    created_at: datetime = Field(index=True)


class Application(SQLModel, table=True):
    """An application from one offer: pending → confirmed → cancelled, or pending → expired."""

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offeraudit.id", unique=True)
    """The offer applied for; at most one application per offer."""
    household_id: int = Field(foreign_key="household.id", index=True)
    kind: str = Field(max_length=20)
    state: str = Field(max_length=12)
    """An ``ApplicationState`` value."""
    created_at: datetime
    expires_at: datetime
    """A pending application not confirmed by then expires."""
    cancel_window_s: int
    """Length of the cancellation window, counted from confirmation."""
    cancel_until: datetime
    """Cancellation is possible until then (extended on confirmation)."""
    confirmed_at: datetime | None = None
    confirmed_via: str | None = Field(default=None, max_length=20)
    """panel, qr, api: binding steps are completed out of band."""
    closed_at: datetime | None = None
    """When it was cancelled or expired."""


class OfferPreference(SQLModel, table=True):
    """A household's offer preference: "don't offer again" stops proactive offers."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    stop_offers: bool = False
    channel: str = Field(max_length=20)
    updated_at: datetime


class PointsRule(SQLModel, table=True):
    """How measured energy savings turn into green points (each manufacturer sets its own)."""

    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_points_rule_tenant_code"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    code: str = Field(max_length=40)
    name: str = Field(max_length=60)
    points_per_kwh: Decimal = Field(max_digits=8, decimal_places=2)
    max_points_per_period: int | None = None
    """Upper bound of the points one saving period can earn, if any."""
    active: bool = True


class PointsEntry(SQLModel, table=True):
    """Append-only points ledger; each entry carries the running balance, chained by ``seq``.

    UNIQUE(household_id, seq) makes two writers that read the same last entry collide, so the chain
    (and with it the no-negative-balance check) stays correct under concurrency.
    """

    __table_args__ = (
        UniqueConstraint("household_id", "seq", name="uq_points_household_seq"),
        UniqueConstraint("household_id", "source_key", name="uq_points_household_source"),
        CheckConstraint("balance_after >= 0", name="ck_points_balance_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    seq: int
    """1, 2, 3… per household."""
    delta: int
    """Points earned (> 0) or redeemed (< 0)."""
    balance_after: int
    kind: str = Field(max_length=10)
    """earn or redeem."""
    source_key: str = Field(max_length=120)
    """Idempotency key: the saving period earned for, or the redemption request."""
    rule_id: int | None = Field(default=None, foreign_key="pointsrule.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    kwh_saved: Decimal | None = Field(default=None, max_digits=12, decimal_places=3)
    service_code: str | None = Field(default=None, max_length=40)
    """Maintenance service redeemed for."""
    note: str = Field(default="", max_length=120)
    created_at: datetime
