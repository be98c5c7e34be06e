"""Aftercare offers for a household's own device: warranty, subscription, insurance candidates.

Glue between ``bot.household.device_status`` (age, faults), ``bot.finance.aftercare`` (eligibility, prices)
and the offer service: the terms stored in the audit are what the read-back and the card show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.finance.aftercare import (
    InsuranceHandoff,
    SubscriptionTerms,
    WarrantyQuote,
    WarrantyRefusal,
    subscriptions_for,
    warranty_options,
)
from bot.finance.catalog import subscriptions, warranty_plans
from bot.household.device_status import DeviceStatus, spoken_date
from bot.offers.types import Candidate, OfferKind

WARRANTY_SCOPES = frozenset({"device_usage"})
"""A warranty price uses the device's age and fault history."""
NO_PLAN = "no_plan"
"""Refusal when the catalog has no warranty plan for the category."""


@dataclass(frozen=True)
class WarrantyOutcome:
    """The cheapest eligible plan's quote, or why there is none."""

    quote: WarrantyQuote | None
    refusal: str | None


def oldest(items: list[DeviceStatus]) -> DeviceStatus:
    """The device of a category that needs cover most: the oldest."""
    return min(items, key=lambda s: (s.purchased_on, s.device_id))


def warranty_for(session: Session, tenant_id: str, device: DeviceStatus) -> WarrantyOutcome:
    """The shortest (cheapest) plan the device qualifies for, or the first plan's refusal."""
    plans = warranty_plans(session, tenant_id, device.category)
    decisions = warranty_options(
        plans, category=device.category, age_years=device.age_years, fault_count=device.faults_last_year
    )
    for decision in decisions:
        if decision.quote is not None:
            return WarrantyOutcome(decision.quote, None)
    if not decisions:
        return WarrantyOutcome(None, NO_PLAN)
    refusal = decisions[0].refusal or WarrantyRefusal.CATEGORY
    return WarrantyOutcome(None, refusal.value)


def device_values(device: DeviceStatus) -> dict[str, str]:
    """Figures of a device for the response templates."""
    return {
        "device": device.name,
        "device_type": device.category,
        "age": str(device.age_years),
        "faults": str(device.faults_last_year),
        "warranty_until": spoken_date(device.warranty_until),
    }


def warranty_values(quote: WarrantyQuote) -> dict[str, str]:
    """Figures of a warranty quote for the response templates."""
    return {
        "years": str(quote.years),
        "price": str(quote.price),
        "provider": quote.provider,
        "name": quote.name,
    }


def warranty_candidate(
    quote: WarrantyQuote, device: DeviceStatus, *, text: str, explanation: str
) -> Candidate:
    """A WARRANTY offer: priced from the device's age and faults (device-usage consent)."""
    return Candidate(
        kind=OfferKind.WARRANTY,
        subject=quote.plan_id,
        terms={
            "plan_id": quote.plan_id,
            "name": quote.name,
            "years": str(quote.years),
            "price": str(quote.price),
            "base_price": str(quote.base_price),
            "seller": quote.provider,
            "device_id": str(device.device_id),
        },
        explanation=explanation,
        text=text,
        data_scopes=WARRANTY_SCOPES,
        topics=frozenset({"ask_warranty"}),
        inputs={"age_years": str(device.age_years), "faults_last_year": str(device.faults_last_year)},
    )


def subscription_for(session: Session, tenant_id: str, category: str) -> SubscriptionTerms | None:
    """The category's own maintenance subscription, else a whole-home one, cheapest first."""
    found = subscriptions_for(subscriptions(session, tenant_id), category)
    return found[0] if found else None


def subscription_candidate(
    terms: SubscriptionTerms,
    *,
    seller: str,
    text: str,
    explanation: str,
    points: bool = False,
    auto_renew: bool = False,
) -> Candidate:
    """A SUBSCRIPTION offer, paid in money or (``points``) in green points; ``auto_renew`` only when
    the spoken terms said it renews automatically (and how to stop it)."""
    stored = {
        "subscription_id": terms.subscription_id,
        "name": terms.name,
        "price": str(terms.price),
        "period_months": str(terms.period_months),
        "service": terms.service,
        "category": terms.category or "",
        "seller": seller,
    }
    if points and terms.points_price is not None:
        stored["points_price"] = str(terms.points_price)
    elif auto_renew:
        stored["auto_renew"] = "true"
    return Candidate(
        kind=OfferKind.SUBSCRIPTION,
        subject=terms.subscription_id,
        terms=stored,
        explanation=explanation,
        text=text,
        topics=frozenset({"ask_warranty", "ask_green_points", "ask_subscription", "redeem_points"}),
    )


def per_period(months: int) -> str:
    """「每年」「每半年」「每3个月」: a subscription's period as spoken."""
    return {12: "每年", 6: "每半年", 1: "每月"}.get(months, f"每{months}个月")


def subscription_card(terms: SubscriptionTerms, offer_id: int, *, points: bool = False) -> dict[str, Any]:
    """The ``subscription_offer`` card."""
    return {
        "type": "subscription_offer",
        "title": terms.name,
        "offer_id": str(offer_id),
        "subscription_id": terms.subscription_id,
        "device_type": terms.category,
        "service": terms.service,
        "price": str(terms.price),
        "period_months": terms.period_months,
        "points_price": terms.points_price,
        "paid_with": "points" if points else "money",
    }


def insurance_candidate(handoff: InsuranceHandoff, *, text: str, explanation: str) -> Candidate:
    """An INSURANCE hand-off, audited like any offer (no device data; no premium is charged)."""
    return Candidate(
        kind=OfferKind.INSURANCE,
        subject=handoff.product_id,
        terms={"insurer": handoff.insurer, "name": handoff.name, "handoff_url": handoff.handoff_url},
        explanation=explanation,
        text=text,
        topics=frozenset({"ask_insurance"}),
    )
