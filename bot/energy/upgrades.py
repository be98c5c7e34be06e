"""Pure upgrade arithmetic: label comparison, annual saving, payback, saving against an installment.

Savings are valued at one 元/kWh figure the caller passes: the household's average price over the
last year (``bot.energy.measured.annual_price``). That is conservative, since a saved kWh really
comes off the top tier, and consistent with the device costs the household is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from bot.energy.tariff import money
from bot.errors import InputError

_ZERO = Decimal(0)
_RATIO = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    """A catalog product proposed as an upgrade (built by the caller from the catalog)."""

    sku: str
    name: str
    category: str
    price: Decimal
    rated_annual_kwh: Decimal


@dataclass(frozen=True)
class UpgradeSaving:
    """What replacing a device with ``candidate`` saves a year, and when it pays for itself."""

    candidate: Candidate
    current_annual_kwh: Decimal
    kwh_saved_per_year: Decimal
    """Rounded to 0.1 kWh; negative when the candidate uses more."""
    money_saved_per_year: Decimal
    monthly_saving: Decimal
    price_per_kwh: Decimal
    """The 元/kWh the saving was valued at."""
    payback_months: int | None
    """Whole months until the saving repays the price; None when it never does."""


@dataclass(frozen=True)
class SavingVsInstallment:
    """The headline: the monthly electricity saving set against the monthly installment."""

    monthly_saving: Decimal
    monthly_payment: Decimal
    net_monthly_cost: Decimal
    """Payment minus saving; negative when the saving is larger than the payment."""
    covered_share: Decimal | None
    """Saving ÷ payment (0.01 steps), None for a zero payment."""


@dataclass(frozen=True)
class RatingComparison:
    """A device's measured yearly use against its energy label."""

    rated_annual_kwh: Decimal
    measured_annual_kwh: Decimal
    ratio: Decimal
    """Measured ÷ rated, 0.01 steps (2.00 = twice the label)."""
    excess_kwh: Decimal
    """Measured minus rated, 0.1 kWh steps (negative when below the label)."""


def _nonnegative(value: Decimal, name: str) -> None:
    if not value.is_finite() or value < 0:
        raise InputError(f"{name} must be a non-negative amount: {value}", code="bad_amount")


def upgrade_saving(
    current_annual_kwh: Decimal, candidate: Candidate, price_per_kwh: Decimal
) -> UpgradeSaving:
    """Annual kWh and money saved by ``candidate`` against a device using ``current_annual_kwh``."""
    for value, name in (
        (current_annual_kwh, "current_annual_kwh"),
        (price_per_kwh, "price_per_kwh"),
        (candidate.price, "price"),
        (candidate.rated_annual_kwh, "rated_annual_kwh"),
    ):
        _nonnegative(value, name)
    saved = current_annual_kwh - candidate.rated_annual_kwh
    yearly = saved * price_per_kwh
    payback = None
    if yearly > 0:
        payback = int((candidate.price * 12 / yearly).to_integral_value(rounding=ROUND_CEILING))
    return UpgradeSaving(
        candidate=candidate,
        current_annual_kwh=current_annual_kwh,
        kwh_saved_per_year=saved.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        money_saved_per_year=money(yearly),
        monthly_saving=money(yearly / 12),
        price_per_kwh=price_per_kwh,
        payback_months=payback,
    )


def rank_upgrades(
    category: str,
    current_annual_kwh: Decimal,
    candidates: Iterable[Candidate],
    price_per_kwh: Decimal,
) -> list[UpgradeSaving]:
    """Candidates of ``category`` that save energy, quickest payback first."""
    savings = [
        upgrade_saving(current_annual_kwh, c, price_per_kwh) for c in candidates if c.category == category
    ]
    useful = [s for s in savings if s.payback_months is not None]
    return sorted(useful, key=lambda s: (s.payback_months, -s.money_saved_per_year, s.candidate.sku))


def saving_vs_installment(monthly_saving: Decimal, monthly_payment: Decimal) -> SavingVsInstallment:
    """Set a monthly saving against a monthly installment payment."""
    _nonnegative(monthly_payment, "monthly_payment")
    if not monthly_saving.is_finite():
        raise InputError(f"monthly_saving must be a number: {monthly_saving}", code="bad_amount")
    share = None
    if monthly_payment > 0:
        share = (monthly_saving / monthly_payment).quantize(_RATIO, rounding=ROUND_HALF_UP)
    return SavingVsInstallment(
        monthly_saving=money(monthly_saving),
        monthly_payment=money(monthly_payment),
        net_monthly_cost=money(monthly_payment - monthly_saving),
        covered_share=share,
    )


def compare_with_rating(measured_annual_kwh: Decimal, rated_annual_kwh: Decimal) -> RatingComparison:
    """Measured yearly use against the label's annual kWh."""
    if rated_annual_kwh <= 0:
        raise InputError("rated annual kWh must be positive", code="bad_rating")
    return RatingComparison(
        rated_annual_kwh=rated_annual_kwh,
        measured_annual_kwh=measured_annual_kwh,
        ratio=(measured_annual_kwh / rated_annual_kwh).quantize(_RATIO, rounding=ROUND_HALF_UP),
        excess_kwh=(measured_annual_kwh - rated_annual_kwh).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
    )
