"""Maintenance subscriptions in conversation: the renewal terms said with the offer, the reminder
before each renewal (at the household's next conversation), and 「取消保养订阅」."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.household import subscriptions
from bot.household.device_status import spoken_date
from bot.periods import zone
from bot.store.repo import aware
from bot.store.subscriptions import HouseholdSubscription

_SUBSCRIPTION = re.compile(r"订阅|续费|包年|年卡|保养")
"""Words that name a subscription as what to cancel (「取消保养订阅」「关掉自动续费」)."""
_APPLICATION = re.compile(r"申请|分期|订单|兑换|积分")
"""Words that make it an application instead (「取消空调清洗年卡的兑换」 is a points redemption)."""


def names_subscription(text: str) -> bool:
    """True when a cancellation is about a subscription, not an application (「取消保养订阅」, not
    「取消刚才的保养申请」 nor 「取消空调清洗年卡的兑换」)."""
    joined = "".join(text.split())
    return bool(_SUBSCRIPTION.search(joined)) and not _APPLICATION.search(joined)


def lead_days() -> int:
    """Days before a renewal the household is reminded."""
    return subscriptions.REMINDER_LEAD.days


def renewal_terms() -> dict[str, Any]:
    """The renewal terms on a subscription card (said with the offer, before any yes)."""
    return {
        "automatic": True,
        "reminder_days_before": lead_days(),
        "cancel_any_time": True,
        "cancel_phrase": subscriptions.CANCEL_PHRASE,
    }


def _local_day(at: datetime, tz: str) -> str:
    return spoken_date(aware(at).astimezone(zone(tz)).date())


def reminder_values(row: HouseholdSubscription, tz: str) -> dict[str, str]:
    """Figures of a renewal reminder: name, date (local), price."""
    return {"name": row.name, "date": _local_day(row.renews_at, tz), "price": str(row.price)}


def cancelled_values(row: HouseholdSubscription, tz: str) -> dict[str, str]:
    """Figures of a cancellation: name, and the day the paid service runs to."""
    return {"name": row.name, "until": _local_day(row.renews_at, tz)}


def subscription_card(
    row: HouseholdSubscription, now: datetime, *, card_type: str, title: str, suggestion: str | None
) -> dict[str, Any]:
    """A ``subscription_reminder`` or ``subscription_status`` card: the subscription as the panel shows
    it, with the way to stop a renewal as a suggestion."""
    card: dict[str, Any] = {"type": card_type, "title": title, **subscriptions.as_json(row, now)}
    if suggestion is not None:
        card["suggestions"] = [suggestion]
    return card


def take_due_reminders(session: Session, household_id: int, now: datetime) -> list[HouseholdSubscription]:
    """The renewals to remind the household of now, marked as said (each is said once per renewal)."""
    due = subscriptions.due_reminders(session, household_id, now)
    if due:
        subscriptions.mark_reminded(session, due)
    return due
