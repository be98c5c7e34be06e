"""「我的申请怎么样了」「分期批了吗」: the household's latest application, from its current state.

Any device of the household asks and hears the same answer: the state as stored (a partner's
decision included, with the reason category of a decline), plus how many others still wait for
confirmation. Pending applications past their expiry are reported as expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.offers import applications
from bot.offers.decisions import reason_text

RESPONSES = {
    "pending": "utter_status_pending",
    "confirmed": "utter_status_confirmed",
    "approved": "utter_status_approved",
    "declined": "utter_status_declined",
    "disbursed": "utter_status_disbursed",
    "cancelled": "utter_status_cancelled",
    "expired": "utter_status_expired",
}
"""Domain response of each state."""


@dataclass(frozen=True)
class StatusAnswer:
    """What to say: a response, its values, the application reported, other pending ones."""

    response: str
    values: dict[str, str]
    offer_id: int | None
    phone_only: bool
    other_pending: int


def answer(session: Session, household_id: int, now: datetime) -> StatusAnswer:
    """The answer about the household's most recent application (``utter_status_none`` without one)."""
    found = applications.household_applications(session, household_id)
    if not found:
        return StatusAnswer("utter_status_none", {}, None, False, 0)
    latest = found[0]
    state = _state(latest, now)
    others = sum(1 for a in found[1:] if _state(a, now) == "pending")
    response = RESPONSES[state]
    if state == "pending" and latest["phone_only"]:
        response = "utter_status_pending_phone"
    values = {"item": _item(latest["terms"]), "partner": latest["partner"] or "合作机构"}
    if state == "declined":
        values["reason"] = reason_text(_decline_reason(latest["history"]))
    return StatusAnswer(response, values, int(latest["offer_id"]), bool(latest["phone_only"]), others)


def _state(app: dict[str, Any], now: datetime) -> str:
    if app["state"] == "pending" and datetime.fromisoformat(app["expires_at"]) <= now:
        return "expired"
    return str(app["state"])


def _item(terms: dict[str, str]) -> str:
    return terms.get("product") or terms.get("name") or "您"


def _decline_reason(history: list[dict[str, Any]]) -> str:
    declined = [h for h in history if h.get("decision") == "declined"]
    return str(declined[-1].get("reason", "other")) if declined else "other"
