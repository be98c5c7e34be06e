"""Table of the household's maintenance subscriptions: one row per subscription taken out, from the
confirmed application of its audited offer, with its renewal date and the reminder said for it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Field, SQLModel


class HouseholdSubscription(SQLModel, table=True):
    """A maintenance subscription the household took out (「有没有包年保养」 → 确认 → confirmed)."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    offer_id: int = Field(foreign_key="offeraudit.id", unique=True)
    """The audited offer whose confirmed application started it (one subscription per offer)."""
    subscription_id: str = Field(max_length=40)
    """The catalog's subscription id."""
    category: str | None = Field(default=None, max_length=20)
    """Device category served; None for whole-home services."""
    name: str = Field(max_length=80)
    service: str = Field(max_length=200)
    price: Decimal = Field(max_digits=10, decimal_places=2)
    """Price of one period."""
    period_months: int
    auto_renew: bool
    """Renewed at the end of each period: only when the offer said so before it was confirmed."""
    state: str = Field(default="active", max_length=12)
    """``active``, ``cancelled`` (no further renewal; the paid period still runs) or ``ended``."""
    started_at: datetime
    renews_at: datetime
    """End of the paid period: the next renewal (or the end, without one)."""
    renewals: int = 0
    reminded_for: datetime | None = None
    """The renewal date the last reminder was given for (one reminder per renewal)."""
    cancelled_at: datetime | None = None
