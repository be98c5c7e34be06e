"""The headline scenario: which device to upgrade and why, from its own readings; what it saves.

For every device of the household (or of one category) the device's measured yearly use is set
against the catalog's like-for-like products (``analysis.rank_upgrades`` at the household's own
average price); the device whose best replacement saves the most money is chosen. The plan then
pairs the product with the lowest-APR installment (the monthly saving set against the monthly
payment) and the green points the saving would earn. Nothing here is worded: callers render the
sentences from ``domain.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.energy.measured import AnnualUse, annual_price, annual_use, rating_check
from bot.energy.upgrades import (
    Candidate,
    RatingComparison,
    SavingVsInstallment,
    UpgradeSaving,
    rank_upgrades,
    saving_vs_installment,
)
from bot.errors import InputError, NotFoundError
from bot.finance.catalog import products, quote_for_sku
from bot.finance.installments import apr_text
from bot.finance.quote import InstallmentQuote
from bot.offers.types import Candidate as OfferCandidate
from bot.offers.types import OfferKind
from bot.store.catalog import Product
from bot.store.ledger import PointsRule
from bot.store.models import Device
from bot.topics.catalog_choice import same_size, short_name

MAX_PAYBACK_MONTHS = 96
"""An upgrade paying back later than this (8 years, within an appliance's safe service life) is
told as a figure, not offered."""
DEFAULT_PERIODS = 12
"""The installment paired with an upgrade, when the product's plans offer it."""
DATA_SCOPES = frozenset({"energy_data"})
"""An upgrade is computed from the device's energy readings."""


@dataclass(frozen=True)
class DeviceEvidence:
    """Why a device is the one to upgrade: its own yearly use, against its label when it has one."""

    device_id: int
    name: str
    category: str
    model: str
    energy_grade: int | None
    annual: AnnualUse
    rating: RatingComparison | None


@dataclass(frozen=True)
class UpgradePlan:
    """The best upgrade for a household: device, product, saving, installment and points."""

    evidence: DeviceEvidence
    product: Product
    saving: UpgradeSaving
    quote: InstallmentQuote | None
    versus: SavingVsInstallment | None
    points_per_year: int | None

    @property
    def worth_it(self) -> bool:
        """True when the saving repays the price within ``MAX_PAYBACK_MONTHS``."""
        months = self.saving.payback_months
        return months is not None and months <= MAX_PAYBACK_MONTHS


def plan_upgrade(
    session: Session,
    tenant_id: str,
    household_id: int,
    now: datetime,
    device_type: str | None = None,
    periods: int = DEFAULT_PERIODS,
) -> UpgradePlan:
    """The household's best upgrade; NotFoundError ``no_such_device`` or ``no_upgrade`` otherwise."""
    devices = _devices(session, household_id, device_type)
    if not devices:
        raise NotFoundError(f"家里没有{device_type}", code="no_such_device")
    price = annual_price(session, household_id, now)
    catalog = products(session, tenant_id)
    best: tuple[DeviceEvidence, UpgradeSaving] | None = None
    for device in devices:
        found = _best_for(session, device, catalog, price, now)
        if found is not None and (best is None or _better(found[1], best[1])):
            best = found
    if best is None:
        raise NotFoundError("没有更省电的同类产品", code="no_upgrade")
    evidence, saving = best
    product = next(p for p in catalog if p.sku == saving.candidate.sku)
    quote = _quote(session, tenant_id, product.sku, periods)
    versus = (
        None
        if quote is None
        else saving_vs_installment(saving.monthly_saving, quote.installment.monthly_payment)
    )
    return UpgradePlan(evidence, product, saving, quote, versus, _points(session, tenant_id, saving))


def _devices(session: Session, household_id: int, device_type: str | None) -> list[Device]:
    query = select(Device).where(Device.household_id == household_id)
    if device_type is not None:
        query = query.where(Device.category == device_type)
    return list(session.exec(query.order_by(col(Device.id))).all())


def _best_for(
    session: Session, device: Device, catalog: list[Product], price: Decimal, now: datetime
) -> tuple[DeviceEvidence, UpgradeSaving] | None:
    candidates = [
        Candidate(p.sku, p.name, p.category, p.price, p.rated_annual_kwh)
        for p in catalog
        if p.category == device.category
        and p.rated_annual_kwh is not None
        and same_size(device.model, p.model)
    ]
    if not candidates or device.id is None:
        return None
    try:
        use = annual_use(session, device.id, now)
    except NotFoundError:
        return None
    ranked = rank_upgrades(device.category, use.kwh, candidates, price)
    if not ranked:
        return None
    evidence = DeviceEvidence(
        device.id,
        device.name,
        device.category,
        device.model,
        device.energy_grade,
        use,
        rating_check(session, device.id, now),
    )
    return evidence, _pick(ranked)


def _pick(ranked: list[UpgradeSaving]) -> UpgradeSaving:
    """Among products paying back in time, the one saving the most; else the quickest payback."""
    timely = [s for s in ranked if (s.payback_months or 0) <= MAX_PAYBACK_MONTHS]
    if not timely:
        return ranked[0]
    return max(timely, key=lambda s: (s.money_saved_per_year, -(s.payback_months or 0), s.candidate.sku))


def _better(new: UpgradeSaving, old: UpgradeSaving) -> bool:
    return (new.money_saved_per_year, -(new.payback_months or 0)) > (
        old.money_saved_per_year,
        -(old.payback_months or 0),
    )


def _quote(session: Session, tenant_id: str, sku: str, periods: int) -> InstallmentQuote | None:
    try:
        return quote_for_sku(session, tenant_id, sku, periods)
    except (InputError, NotFoundError):
        return None


def _points(session: Session, tenant_id: str, saving: UpgradeSaving) -> int | None:
    rule = session.exec(
        select(PointsRule)
        .where(PointsRule.tenant_id == tenant_id, col(PointsRule.active).is_(True))
        .order_by(col(PointsRule.id))
    ).first()
    if rule is None or saving.kwh_saved_per_year <= 0:
        return None
    return int((saving.kwh_saved_per_year * rule.points_per_kwh).to_integral_value(rounding=ROUND_FLOOR))


def figures(plan: UpgradePlan) -> dict[str, str]:
    """The plan's figures as strings for the response templates (kWh to 1 decimal, money to cents)."""
    ev, sv = plan.evidence, plan.saving
    out = {
        "device": ev.name,
        "annual_kwh": str(ev.annual.kwh.quantize(Decimal("1"))),
        "ratio": "" if ev.rating is None else str(ev.rating.ratio.normalize()),
        "product": short_name(plan.product),
        "kwh_saved": str(sv.kwh_saved_per_year.quantize(Decimal("1"))),
        "saving": str(sv.money_saved_per_year),
        "payback_months": str(sv.payback_months or ""),
        "points": str(plan.points_per_year or 0),
    }
    if plan.quote is not None and plan.versus is not None:
        out.update(
            periods=str(plan.quote.installment.periods),
            apr_text=_apr_text(plan.quote),
            monthly=str(plan.versus.monthly_payment),
            monthly_saving=str(plan.versus.monthly_saving),
            net_monthly=str(plan.versus.net_monthly_cost),
        )
    return out


def _apr_text(quote: InstallmentQuote) -> str:
    return apr_text(quote.apr)


def offer_candidate(plan: UpgradePlan, *, text: str, explanation: str, rank: int = 0) -> OfferCandidate:
    """The plan as an UPGRADE offer candidate (energy data; terms as decimal strings)."""
    sv = plan.saving
    terms = {
        "sku": plan.product.sku,
        "price": str(plan.product.price),
        "kwh_saved_per_year": str(sv.kwh_saved_per_year),
        "money_saved_per_year": str(sv.money_saved_per_year),
        "monthly_saving": str(sv.monthly_saving),
        "payback_months": str(sv.payback_months),
    }
    if plan.quote is not None:
        terms.update(
            periods=str(plan.quote.installment.periods),
            apr=str(plan.quote.apr),
            monthly_payment=str(plan.quote.installment.monthly_payment),
            partner=plan.quote.partner,
        )
    ev = plan.evidence
    inputs = {
        "device_id": str(ev.device_id),
        "device": ev.name,
        "annual_kwh": str(ev.annual.kwh),
        "usage_basis": ev.annual.basis.value,
        "rated_annual_kwh": "" if ev.rating is None else str(ev.rating.rated_annual_kwh),
        "price_per_kwh": str(sv.price_per_kwh),
    }
    return OfferCandidate(
        kind=OfferKind.UPGRADE,
        subject=plan.product.sku,
        terms=terms,
        explanation=explanation,
        text=text,
        data_scopes=DATA_SCOPES,
        topics=frozenset({"ask_energy_saving", "ask_energy_usage"}),
        inputs=inputs,
        rank=rank,
    )


def saving_card(plan: UpgradePlan, offer_id: int | None) -> dict[str, Any]:
    """The ``energy_saving`` card of CONTRACTS.md §4, with the paired installment and points."""
    ev, sv = plan.evidence, plan.saving
    card: dict[str, Any] = {
        "type": "energy_saving",
        "title": f"{ev.name} → {short_name(plan.product)}",
        "offer_id": offer_id,
        "device": {
            "id": ev.device_id,
            "name": ev.name,
            "model": ev.model,
            "energy_grade": ev.energy_grade,
            "annual_kwh": str(ev.annual.kwh),
            "rated_annual_kwh": None if ev.rating is None else str(ev.rating.rated_annual_kwh),
        },
        "product": {
            "sku": plan.product.sku,
            "name": plan.product.name,
            "price": str(plan.product.price),
            "energy_grade": plan.product.energy_grade,
            "rated_annual_kwh": str(plan.product.rated_annual_kwh),
        },
        "kwh_saved_per_year": str(sv.kwh_saved_per_year),
        "money_saved_per_year": str(sv.money_saved_per_year),
        "payback_months": sv.payback_months,
        "points_per_year": plan.points_per_year,
        "assumptions": {
            "price_per_kwh": str(sv.price_per_kwh),
            "usage_basis": ev.annual.basis.value,
            "covered_days": str(ev.annual.covered_days),
        },
        "installment": None,
        "suggestions": ["分期怎么算", "为什么推荐这个"],
    }
    if plan.quote is not None and plan.versus is not None:
        card["installment"] = {
            "periods": plan.quote.installment.periods,
            "apr": str(plan.quote.apr),
            "apr_text": _apr_text(plan.quote),
            "monthly_payment": str(plan.versus.monthly_payment),
            "monthly_saving": str(plan.versus.monthly_saving),
            "net_monthly_cost": str(plan.versus.net_monthly_cost),
            "partner": plan.quote.partner,
        }
    return card


__all__ = [
    "DATA_SCOPES",
    "DEFAULT_PERIODS",
    "MAX_PAYBACK_MONTHS",
    "DeviceEvidence",
    "UpgradePlan",
    "figures",
    "offer_candidate",
    "plan_upgrade",
    "saving_card",
]
