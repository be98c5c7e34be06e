"""The household's maintenance subscriptions: taken out when the application of a subscription offer
is confirmed, renewed at the end of each period only when the offer said so before it was confirmed,
a reminder before each renewal, and cancelled any time.

Automatic renewals follow the consumer rules on them (《消费者权益保护法实施条例》, in force from
2024-07-01, and the price-marking rules' five days): the household is told prominently before each
renewal — at its next conversation and on the panel's home screen, from ``REMINDER_LEAD`` before the
date — and can stop it at any time; cancelling stops the next renewal, the period already paid runs
to its end.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import InputError, NotFoundError
from bot.store.repo import aware
from bot.store.subscriptions import HouseholdSubscription

REMINDER_LEAD = timedelta(days=5)
"""How long before a renewal the household is reminded of it."""


class SubscriptionState(StrEnum):
    """States of a household's subscription."""

    ACTIVE = "active"
    """Paid up to ``renews_at``; renewed then when ``auto_renew``."""
    CANCELLED = "cancelled"
    """No further renewal; the paid period runs to ``renews_at``."""
    ENDED = "ended"
    """Over (its last period ran out, or it was withdrawn within the application's window)."""


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the month's last day when it is shorter)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def start(
    session: Session, household_id: int, offer_id: int, terms: Mapping[str, str], now: datetime
) -> HouseholdSubscription:
    """The subscription of a confirmed offer (the existing one when started before); not committed."""
    found = session.exec(
        select(HouseholdSubscription).where(HouseholdSubscription.offer_id == offer_id)
    ).first()
    if found is not None:
        return found
    try:
        months, price = int(terms["period_months"]), Decimal(terms["price"])
    except (KeyError, ValueError, ArithmeticError) as err:
        raise InputError("订阅条款不完整", code="bad_subscription_terms") from err
    if months < 1 or price < 0:
        raise InputError("订阅条款不完整", code="bad_subscription_terms")
    row = HouseholdSubscription(
        household_id=household_id,
        offer_id=offer_id,
        subscription_id=terms.get("subscription_id", "")[:40],
        category=terms.get("category") or None,
        name=terms.get("name", "")[:80],
        service=terms.get("service", "")[:200],
        price=price,
        period_months=months,
        auto_renew=terms.get("auto_renew") == "true",
        started_at=now,
        renews_at=add_months(now, months),
    )
    session.add(row)
    session.flush()
    return row


def active(session: Session, household_id: int, category: str | None = None) -> list[HouseholdSubscription]:
    """The household's subscriptions still running (active or cancelled with time left), next first."""
    query = select(HouseholdSubscription).where(
        HouseholdSubscription.household_id == household_id,
        col(HouseholdSubscription.state).in_((SubscriptionState.ACTIVE, SubscriptionState.CANCELLED)),
    )
    rows = list(session.exec(query.order_by(col(HouseholdSubscription.renews_at))).all())
    return [r for r in rows if category is None or r.category in (category, None)]


def renewing(session: Session, household_id: int, category: str | None = None) -> list[HouseholdSubscription]:
    """The household's subscriptions that will renew automatically, next renewal first."""
    return [r for r in active(session, household_id, category) if _renews(r)]


def _renews(row: HouseholdSubscription) -> bool:
    return row.state == SubscriptionState.ACTIVE and row.auto_renew


def reminder_due(row: HouseholdSubscription, now: datetime) -> bool:
    """True from ``REMINDER_LEAD`` before a renewal until it is said once for that renewal."""
    renews_at = aware(row.renews_at)
    said = None if row.reminded_for is None else aware(row.reminded_for)
    return _renews(row) and now >= renews_at - REMINDER_LEAD and said != renews_at


def due_reminders(session: Session, household_id: int, now: datetime) -> list[HouseholdSubscription]:
    """Renewals the household has not yet been reminded of, within the reminder lead."""
    return [r for r in renewing(session, household_id) if reminder_due(r, now)]


def mark_reminded(session: Session, rows: list[HouseholdSubscription]) -> None:
    """Record that each row's coming renewal was said (committed)."""
    for row in rows:
        row.reminded_for = aware(row.renews_at)
        session.add(row)
    session.commit()


def cancel(
    session: Session, household_id: int, now: datetime, category: str | None = None
) -> HouseholdSubscription:
    """Stop the next renewal of the household's (category's) renewing subscription, soonest first;
    NotFoundError when none renews. The paid period runs to its end."""
    rows = renewing(session, household_id, category) or renewing(session, household_id)
    if not rows:
        raise NotFoundError("没有会自动续费的保养订阅", code="no_subscription")
    row = rows[0]
    row.state, row.auto_renew, row.cancelled_at = SubscriptionState.CANCELLED.value, False, now
    session.add(row)
    session.commit()
    return row


def withdraw(session: Session, offer_id: int, now: datetime) -> None:
    """The application behind a subscription was cancelled within its window: it ends now (not
    committed; the application's change commits it)."""
    row = session.exec(
        select(HouseholdSubscription).where(HouseholdSubscription.offer_id == offer_id)
    ).first()
    if row is None or row.state == SubscriptionState.ENDED:
        return
    row.state, row.auto_renew = SubscriptionState.ENDED.value, False
    row.cancelled_at, row.renews_at = row.cancelled_at or now, min(aware(row.renews_at), now)
    session.add(row)


def renew_due(session: Session, now: datetime) -> int:
    """Renew every automatic subscription whose period ran out (one period per renewal date passed)
    and end the cancelled ones whose paid period is over; commits; how many were renewed."""
    due = session.exec(
        select(HouseholdSubscription).where(
            col(HouseholdSubscription.state).in_((SubscriptionState.ACTIVE, SubscriptionState.CANCELLED)),
            col(HouseholdSubscription.renews_at) <= now,
        )
    ).all()
    renewed = 0
    for row in due:
        if not _renews(row):
            row.state = SubscriptionState.ENDED.value
        while _renews(row) and aware(row.renews_at) <= now:
            row.renews_at = add_months(aware(row.renews_at), row.period_months)
            row.renewals += 1
            renewed += 1
        session.add(row)
    session.commit()
    return renewed


def as_json(row: HouseholdSubscription, now: datetime) -> dict[str, Any]:
    """A subscription as the household sees it (panel home screen, cards)."""
    return {
        "subscription": row.id,
        "subscription_id": row.subscription_id,
        "name": row.name,
        "device_type": row.category,
        "service": row.service,
        "price": str(row.price),
        "period_months": row.period_months,
        "state": row.state,
        "auto_renew": row.auto_renew,
        "started_at": aware(row.started_at).isoformat(),
        "renews_at": aware(row.renews_at).isoformat(),
        "reminder_due": _renews(row) and now >= aware(row.renews_at) - REMINDER_LEAD,
        "cancel_phrase": CANCEL_PHRASE,
    }


CANCEL_PHRASE = "取消保养订阅"
"""What the household can say to stop a renewal (shown next to every renewing subscription)."""
