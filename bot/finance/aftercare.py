"""Aftercare offers: extended warranty eligibility and price, insurance hand-off, subscriptions.

Pure functions over catalog rows. Insurance is never sold here: the result is what the assistant
may explain and the licensed insurer's page the household is handed off to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.errors import InputError
from bot.finance.installments import money
from bot.store.catalog import InsuranceProduct, Subscription, WarrantyPlan, split_list


class WarrantyRefusal(StrEnum):
    """Why a device cannot get a warranty plan."""

    CATEGORY = "category_mismatch"
    TOO_OLD = "too_old"
    TOO_MANY_FAULTS = "too_many_faults"


@dataclass(frozen=True)
class WarrantyQuote:
    """Terms of one extended warranty for one device."""

    plan_id: str
    name: str
    category: str
    years: int
    price: Decimal
    base_price: Decimal
    """Price for a new device without faults; ``price`` adds the age and fault loadings."""
    onsite_fee_covered: bool
    coverage: str
    provider: str
    device_age_years: int
    fault_count: int


@dataclass(frozen=True)
class WarrantyDecision:
    """Whether a plan applies to a device, with the quote when it does."""

    plan_id: str
    refusal: WarrantyRefusal | None
    quote: WarrantyQuote | None

    @property
    def eligible(self) -> bool:
        """True when the plan can be offered."""
        return self.refusal is None


def age_in_years(purchased_on: date, today: date) -> int:
    """Full years between purchase and ``today`` (0 in the first year)."""
    if today < purchased_on:
        raise InputError("购买日期晚于今天", code="bad_date")
    before_anniversary = (today.month, today.day) < (purchased_on.month, purchased_on.day)
    return today.year - purchased_on.year - int(before_anniversary)


def warranty_price(plan: WarrantyPlan, age_years: int, fault_count: int) -> Decimal:
    """Base price × (1 + age loading × age + fault loading × faults in the last 12 months)."""
    factor = 1 + plan.age_loading_rate * age_years + plan.fault_loading_rate * fault_count
    return money(plan.price * factor)


def _refusal(plan: WarrantyPlan, category: str, age_years: int, faults: int) -> WarrantyRefusal | None:
    if category != plan.category:
        return WarrantyRefusal.CATEGORY
    if age_years > plan.max_device_age_years:
        return WarrantyRefusal.TOO_OLD
    if faults > plan.max_faults:
        return WarrantyRefusal.TOO_MANY_FAULTS
    return None


def warranty_decision(
    plan: WarrantyPlan, *, category: str, age_years: int, fault_count: int
) -> WarrantyDecision:
    """Decide eligibility (category, full years of age, faults in 12 months) and price it."""
    if age_years < 0 or fault_count < 0:
        raise InputError("设备年龄和故障次数不能为负", code="bad_input")
    refusal = _refusal(plan, category, age_years, fault_count)
    if refusal is not None:
        return WarrantyDecision(plan.id, refusal, None)
    quote = WarrantyQuote(
        plan_id=plan.id,
        name=plan.name,
        category=plan.category,
        years=plan.years,
        price=warranty_price(plan, age_years, fault_count),
        base_price=money(plan.price),
        onsite_fee_covered=plan.onsite_fee_covered,
        coverage=plan.coverage,
        provider=plan.provider_legal_name,
        device_age_years=age_years,
        fault_count=fault_count,
    )
    return WarrantyDecision(plan.id, None, quote)


def warranty_options(
    plans: Iterable[WarrantyPlan], *, category: str, age_years: int, fault_count: int
) -> list[WarrantyDecision]:
    """Decisions for every plan of the category, shortest cover first."""
    own = sorted((p for p in plans if p.category == category), key=lambda p: (p.years, p.id))
    return [
        warranty_decision(p, category=category, age_years=age_years, fault_count=fault_count) for p in own
    ]


def warranty_card(quote: WarrantyQuote, *, offer_id: str | None = None) -> dict[str, Any]:
    """The ``warranty_offer`` card."""
    return {
        "type": "warranty_offer",
        "title": quote.name,
        "offer_id": offer_id,
        "plan_id": quote.plan_id,
        "device_type": quote.category,
        "years": quote.years,
        "price": str(quote.price),
        "base_price": str(quote.base_price),
        "onsite_fee_covered": quote.onsite_fee_covered,
        "coverage": quote.coverage,
        "provider": quote.provider,
        "device_age_years": quote.device_age_years,
        "fault_count": quote.fault_count,
    }


@dataclass(frozen=True)
class InsuranceHandoff:
    """What the assistant may say about an insurance product, and where the insurer sells it."""

    product_id: str
    name: str
    insurer: str
    """The licensed insurer's legal name."""
    coverage: str
    reference_price: Decimal
    """The insurer's published premium, for information only (never charged by the assistant)."""
    term_months: int
    handoff_url: str


def insurance_handoffs(products: Iterable[InsuranceProduct], category: str) -> list[InsuranceHandoff]:
    """Hand-off information for every insurance product covering a category."""
    return [
        InsuranceHandoff(
            p.id,
            p.name,
            p.insurer_legal_name,
            p.coverage,
            money(p.price),
            p.term_months,
            p.handoff_url,
        )
        for p in sorted(products, key=lambda p: p.id)
        if category in split_list(p.categories)
    ]


def insurance_card(handoff: InsuranceHandoff) -> dict[str, Any]:
    """The ``insurance_handoff`` card: explain, then hand off to the insurer's own page."""
    return {
        "type": "insurance_handoff",
        "title": handoff.name,
        "product_id": handoff.product_id,
        "insurer": handoff.insurer,
        "coverage": handoff.coverage,
        "reference_price": str(handoff.reference_price),
        "term_months": handoff.term_months,
        "handoff_url": handoff.handoff_url,
    }


@dataclass(frozen=True)
class SubscriptionTerms:
    """A maintenance subscription as it can be offered."""

    subscription_id: str
    name: str
    category: str | None
    service: str
    price: Decimal
    period_months: int
    points_price: int | None


def subscriptions_for(subscriptions: Iterable[Subscription], category: str | None) -> list[SubscriptionTerms]:
    """Subscriptions for a category (its own first, then whole-home ones), cheapest first."""
    matching = [s for s in subscriptions if s.category is None or s.category == category]
    matching.sort(key=lambda s: (s.category is None, s.price, s.id))
    return [
        SubscriptionTerms(
            s.id, s.name, s.category, s.service, money(s.price), s.period_months, s.points_price
        )
        for s in matching
    ]
