"""The panel's home screen at a glance: this month's energy so far against the same days of last month
with the top devices, applications still open, green points, maintenance subscriptions (a coming
renewal stands out from the reminder lead before it), consent state, and two or three things to ask
drawn from the household's own data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.energy.usage import coverage
from bot.household import consent, subscriptions
from bot.household import points as household_points
from bot.household.devices import Pick, Selection
from bot.periods import resolve
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ConsentScope, Tenant
from bot.topics import energy, points

OPEN_STATES = ("pending", "confirmed")
"""Applications the household may still act on (confirm, cancel)."""


def home_summary(session: Session, tenant: Tenant, household_id: int, now: datetime) -> dict[str, Any]:
    """Everything the home screen shows, from the household's own data."""
    usage = _energy(session, tenant, household_id, now)
    open_apps = _applications(session, household_id)
    balance = household_points.balance(session, household_id)
    rewards = points.all_rewards(session, tenant.id)
    granted = set(consent.in_force(session, household_id))
    scopes = [{"scope": s.value, "granted": s in granted} for s in ConsentScope]
    return {
        "energy": usage,
        "applications": open_apps,
        "points": {
            "balance": balance,
            "recent": [
                {"delta": m.delta, "kind": m.kind, "reason": m.note, "at": m.created_at.isoformat()}
                for m in reversed(household_points.history(session, household_id)[-3:])
            ],
        },
        "subscriptions": [subscriptions.as_json(r, now) for r in subscriptions.active(session, household_id)],
        "consents": scopes,
        "suggestions": _suggestions(usage, balance, rewards, granted),
    }


def _energy(session: Session, tenant: Tenant, household_id: int, now: datetime) -> dict[str, Any] | None:
    covered = coverage(session, household_id, tenant.timezone)
    if covered is None:
        return None
    month = energy.clip_to_data(resolve("this_month", now, tenant.timezone), covered)
    if energy.outside_data(month, covered):
        return None
    everything = Selection(Pick.ALL, ())
    this = energy.measure(session, household_id, everything, None, month)
    before = energy.reference_period(energy.Asked("this_month", "last_month"), month, now, tenant.timezone)
    last = (
        None
        if energy.outside_data(before, covered)
        else energy.measure(session, household_id, everything, None, before)
    )
    return {
        "period_label": this.period_label,
        "kwh": str(this.kwh),
        "cost": str(this.cost),
        "last_label": None if last is None else last.period_label,
        "last_kwh": None if last is None else str(last.kwh),
        "last_cost": None if last is None else str(last.cost),
        "top_devices": [{"name": d.name, "kwh": str(d.kwh)} for d in this.ranking[:3]],
    }


def _applications(session: Session, household_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Application, OfferAudit)
        .join(OfferAudit, col(OfferAudit.id) == col(Application.offer_id))
        .where(Application.household_id == household_id, col(Application.state).in_(OPEN_STATES))
        .order_by(col(Application.id).desc())
    ).all()
    return [
        {
            "offer_id": app.offer_id,
            "kind": app.kind,
            "state": app.state,
            "subject": offer.terms.get("product") or offer.terms.get("name") or offer.subject,
            "cancel_until": app.cancel_until.isoformat(),
        }
        for app, offer in rows
    ]


def _suggestions(
    usage: dict[str, Any] | None,
    balance: int,
    rewards: list[Any],
    granted: set[ConsentScope],
) -> list[str]:
    """Two or three things worth asking now, most specific first."""
    found: list[str] = []
    if usage and usage["top_devices"]:
        top = usage["top_devices"][0]["name"]
        found.append(f"{top}这个月用了多少电")
    if usage and usage["last_kwh"] is not None:
        found.append("这个月比上个月多还是少")
    affordable = [r for r in rewards if r.points_price is not None and r.points_price <= balance]
    if affordable:
        found.append(f"用积分兑换{affordable[0].name}")
    if ConsentScope.ENERGY_DATA not in granted:
        found.append("可以用我的用电数据")
    elif usage and usage["top_devices"]:
        found.append("怎么省电")
    return found[:3] if len(found) >= 2 else [*found, "哪个电器最费电", "我有多少积分"][:3]
