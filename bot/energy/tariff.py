"""China's residential tiered electricity tariffs (阶梯电价) and how a period of use is priced.

Sources: DOMAIN_FACTS.md §1. Tiers are marginal: only the kWh above a ceiling pay the higher
price. Monthly schemes (Beijing, Shenzhen) reset the counter each calendar month; annual schemes
(Shanghai, Zhejiang) count the calendar year to date, so the same kWh can cost more in December
than in January.

Pricing a period: the household's daily kWh are grouped by accounting period (calendar month or
year). For each accounting period the cost of the days inside ``[start, end)`` is
``charge(prior + inside) − charge(prior)``, where ``prior`` is the household's kWh in the same
accounting period before ``start`` (taken from the same mapping, so pass the days from the start
of the accounting period when you have them).

A device's share: device cost = device kWh × the household's average price over the same period
(household cost ÷ household kWh). This splits the bill in proportion to use, so the devices' shares
add up to the household cost (to the cent) and no device is blamed for the tier it happened to
push the home into. With no household kWh in the period, the marginal price of the next kWh is used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from bot.errors import InputError

CENT = Decimal("0.01")
_ZERO = Decimal(0)
_SUMMER_MAY_OCT = frozenset(range(5, 11))


class Basis(StrEnum):
    """How long the tier counter runs before it resets."""

    MONTHLY = "monthly"
    ANNUAL = "annual"


@dataclass(frozen=True)
class TariffSchedule:
    """A residential tariff: tier ceilings per accounting period and the price of each tier."""

    key: str
    name: str
    basis: Basis
    prices: tuple[Decimal, ...]
    """元/kWh of each tier; one more price than ceilings."""
    ceilings: tuple[Decimal, ...]
    """Upper kWh of each tier but the last, per accounting period."""
    summer_ceilings: tuple[Decimal, ...] | None = None
    """Ceilings in summer months, for seasonal monthly schemes."""
    summer_months: frozenset[int] = frozenset()
    family_min_members: int | None = None
    """Households with at least this many people get extra quota."""
    family_extra_per_month: Decimal = _ZERO
    """Extra kWh added to every ceiling per month of the accounting period."""

    def ceilings_for(self, period_start: date, members: int = 3) -> tuple[Decimal, ...]:
        """Tier ceilings for the accounting period starting ``period_start``."""
        base = self.ceilings
        if self.summer_ceilings is not None and period_start.month in self.summer_months:
            base = self.summer_ceilings
        if self.family_min_members is None or members < self.family_min_members:
            return base
        months = 12 if self.basis is Basis.ANNUAL else 1
        extra = self.family_extra_per_month * months
        return tuple(c + extra for c in base)


def _d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def _schedules() -> dict[str, TariffSchedule]:
    monthly, annual = Basis.MONTHLY, Basis.ANNUAL
    return {
        "beijing": TariffSchedule(
            "beijing", "北京", monthly, _d("0.4883", "0.5383", "0.7883"), _d("240", "400")
        ),
        "shanghai": TariffSchedule(
            "shanghai",
            "上海",
            annual,
            _d("0.617", "0.667", "0.917"),
            _d("3120", "4800"),
            family_min_members=5,
            family_extra_per_month=Decimal(100),
        ),
        "zhejiang": TariffSchedule(
            "zhejiang", "浙江", annual, _d("0.538", "0.588", "0.838"), _d("2760", "4800")
        ),
        "shenzhen": TariffSchedule(
            "shenzhen",
            "深圳",
            monthly,
            _d("0.6542", "0.7042", "0.9542"),
            _d("200", "400"),
            summer_ceilings=_d("260", "600"),
            summer_months=_SUMMER_MAY_OCT,
        ),
    }


SCHEDULE_KEYS: tuple[str, ...] = ("beijing", "shanghai", "zhejiang", "shenzhen", "flat")
"""Every ``Tenant.tariff_region`` value this module knows."""


def schedule(key: str, flat_price: Decimal | None = None) -> TariffSchedule:
    """The schedule for ``key``; ``flat`` needs ``flat_price`` (the tenant's 元/kWh)."""
    if key == "flat":
        if flat_price is None or flat_price < 0:
            raise InputError("flat tariff needs a non-negative price", code="bad_tariff")
        return TariffSchedule("flat", "统一电价", Basis.MONTHLY, (flat_price,), ())
    found = _schedules().get(key)
    if found is None:
        raise InputError(f"unknown tariff region {key!r}", code="unknown_tariff")
    return found


def tiered_charge(kwh: Decimal, ceilings: tuple[Decimal, ...], prices: tuple[Decimal, ...]) -> Decimal:
    """Unrounded charge for ``kwh`` in one accounting period, each tier at its own price."""
    total, floor = _ZERO, _ZERO
    for ceiling, price in zip((*ceilings, None), prices, strict=True):
        top = kwh if ceiling is None else min(kwh, ceiling)
        if top > floor:
            total += (top - floor) * price
        if ceiling is None or kwh <= ceiling:
            break
        floor = ceiling
    return total


def accounting_start(sched: TariffSchedule, day: date) -> date:
    """First day of the accounting period (month or year) containing ``day``."""
    if sched.basis is Basis.ANNUAL:
        return date(day.year, 1, 1)
    return date(day.year, day.month, 1)


def _split(
    sched: TariffSchedule, kwh_by_day: Mapping[date, Decimal], start: date, end: date
) -> dict[date, list[Decimal]]:
    """Per accounting period: [kWh before ``start``, kWh inside ``[start, end)``]."""
    parts: dict[date, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    for day, kwh in kwh_by_day.items():
        if day >= end:
            continue
        acc = accounting_start(sched, day)
        if day >= start:
            parts[acc][1] += kwh
        elif acc >= accounting_start(sched, start):
            parts[acc][0] += kwh
    return parts


def period_cost_exact(
    sched: TariffSchedule,
    kwh_by_day: Mapping[date, Decimal],
    start: date,
    end: date,
    members: int = 3,
) -> Decimal:
    """Unrounded household cost of the days in ``[start, end)``, counting earlier use."""
    total = _ZERO
    for acc, (prior, inside) in _split(sched, kwh_by_day, start, end).items():
        ceilings = sched.ceilings_for(acc, members)
        total += tiered_charge(prior + inside, ceilings, sched.prices)
        total -= tiered_charge(prior, ceilings, sched.prices)
    return total


def period_cost(
    sched: TariffSchedule,
    kwh_by_day: Mapping[date, Decimal],
    start: date,
    end: date,
    members: int = 3,
) -> Decimal:
    """Household cost in 元 (to the cent) of the days in ``[start, end)``."""
    return money(period_cost_exact(sched, kwh_by_day, start, end, members))


def marginal_price(sched: TariffSchedule, prior_kwh: Decimal, acc_start: date, members: int = 3) -> Decimal:
    """Price of the next kWh after ``prior_kwh`` in the accounting period starting ``acc_start``."""
    ceilings = sched.ceilings_for(acc_start, members)
    tier = sum(1 for c in ceilings if prior_kwh >= c)
    return sched.prices[tier]


def average_price(
    sched: TariffSchedule,
    kwh_by_day: Mapping[date, Decimal],
    start: date,
    end: date,
    members: int = 3,
) -> Decimal:
    """Household cost ÷ household kWh over ``[start, end)`` (unrounded), or the marginal price."""
    inside = sum((k for d, k in kwh_by_day.items() if start <= d < end), _ZERO)
    if inside > 0:
        return period_cost_exact(sched, kwh_by_day, start, end, members) / inside
    acc = accounting_start(sched, start)
    prior = sum((k for d, k in kwh_by_day.items() if acc <= d < start), _ZERO)
    return marginal_price(sched, prior, acc, members)


def device_share_cost(
    schedule_key: str,
    household_kwh_by_day: Mapping[date, Decimal],
    device_kwh: Decimal,
    start: date,
    end: date,
    members: int = 3,
    flat_price: Decimal | None = None,
) -> Decimal:
    """Cost in 元 of ``device_kwh`` used in ``[start, end)``: kWh × household average price."""
    sched = schedule(schedule_key, flat_price)
    return money(device_kwh * average_price(sched, household_kwh_by_day, start, end, members))


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
