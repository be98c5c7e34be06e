"""The national trade-in subsidy (以旧换新国家补贴) by the year of purchase (DOMAIN_FACTS.md §5).

Each year's programme has its own categories, energy-grade rule, rate, cap per item and price
ceiling; the purchase date of the new unit picks the programme. A date no recorded programme covers
gets no subsidy (and says so): a figure is never carried over into a year whose rules are unknown.
When a new notice is published, add its row to ``PROGRAMMES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.finance.installments import money
from bot.store.models import DeviceCategory

ZERO = Decimal("0.00")

_BASE_2024 = frozenset({"冰箱", "洗衣机", "电视", "空调", "电脑", "热水器", "家用灶具", "吸油烟机"})
"""The 8 categories of 2024 [P]."""


@dataclass(frozen=True)
class Programme:
    """One year's national trade-in subsidy rules."""

    year: int
    starts: date
    ends: date
    """Last day covered (inclusive)."""
    categories: frozenset[str]
    rate: Decimal
    """Share of the price (after discounts) for a unit of ``max_grade`` or better."""
    max_grade: int
    """Worst energy grade that still qualifies (1 = grade 1 only)."""
    bonus_rate: Decimal
    """Extra share for a grade-1 unit (0: none)."""
    cap: Decimal
    """Largest subsidy per item."""
    max_price: Decimal | None
    """Units priced above this get nothing; None: no ceiling."""
    units_per_category: int
    """Subsidised items per consumer per category."""
    units_ac: int
    """Subsidised air conditioners per consumer."""

    @property
    def source(self) -> str:
        """How the subsidy is named to the household."""
        return f"{self.year}年家电以旧换新国家补贴"


PROGRAMMES: tuple[Programme, ...] = (
    # 2024: from late August (the earliest dated source is 2024-08-25 [I]); 15 % for grade 2 and
    # better, +5 % for grade 1; 2,000 元 per item; one item per category [P].
    Programme(
        year=2024,
        starts=date(2024, 8, 25),
        ends=date(2024, 12, 31),
        categories=_BASE_2024,
        rate=Decimal("0.15"),
        max_grade=2,
        bonus_rate=Decimal("0.05"),
        cap=Decimal("2000.00"),
        max_price=None,
        units_per_category=1,
        units_ac=1,
    ),
    # 2025: 12 categories (adds water purifier, dishwasher, rice cooker, microwave); same rates and
    # cap; up to 3 air conditioners per consumer [P].
    Programme(
        year=2025,
        starts=date(2025, 1, 1),
        ends=date(2025, 12, 31),
        categories=_BASE_2024 | {"净水器", "洗碗机", "电饭煲", "微波炉"},
        rate=Decimal("0.15"),
        max_grade=2,
        bonus_rate=Decimal("0.05"),
        cap=Decimal("2000.00"),
        max_price=None,
        units_per_category=1,
        units_ac=3,
    ),
    # 2026: 6 categories; grade 1 only, 15 % of the price after discounts; 1,500 元 per item; unit
    # price at most 6,000 元; one item per category [P].
    Programme(
        year=2026,
        starts=date(2026, 1, 1),
        ends=date(2026, 12, 31),
        categories=frozenset({"冰箱", "洗衣机", "电视", "空调", "电脑", "热水器"}),
        rate=Decimal("0.15"),
        max_grade=1,
        bonus_rate=Decimal("0"),
        cap=Decimal("1500.00"),
        max_price=Decimal("6000.00"),
        units_per_category=1,
        units_ac=1,
    ),
)


class NotSubsidised(StrEnum):
    """Why a new unit gets no national subsidy."""

    NO_PROGRAMME = "no_programme"
    """No recorded programme covers the purchase date."""
    CATEGORY = "category_not_covered"
    GRADE = "grade_not_eligible"
    PRICE = "price_above_limit"
    UNITS = "units_used"
    """The consumer has already had the programme's subsidised items of this category."""


@dataclass(frozen=True)
class NationalSubsidy:
    """The subsidy one new unit gets, and the rule that decided it."""

    amount: Decimal
    rate: Decimal
    capped: bool
    programme: Programme | None
    refusal: NotSubsidised | None

    @property
    def source(self) -> str:
        """The programme's name when a subsidy is paid, else empty."""
        return self.programme.source if self.programme is not None and self.amount > 0 else ""


def programme_on(purchased_on: date) -> Programme | None:
    """The programme in force on a purchase date, or None."""
    return next((p for p in PROGRAMMES if p.starts <= purchased_on <= p.ends), None)


def _refusal(
    p: Programme, category: str, grade: int | None, price: Decimal, already: int
) -> NotSubsidised | None:
    if category not in p.categories:
        return NotSubsidised.CATEGORY
    if grade is None or grade > p.max_grade:
        return NotSubsidised.GRADE
    if p.max_price is not None and price > p.max_price:
        return NotSubsidised.PRICE
    limit = p.units_ac if category == DeviceCategory.AIR_CONDITIONER else p.units_per_category
    return NotSubsidised.UNITS if already >= limit else None


def national_subsidy(
    category: str,
    energy_grade: int | None,
    price: Decimal,
    purchased_on: date,
    *,
    already_subsidised: int = 0,
) -> NationalSubsidy:
    """The subsidy on a new unit (category, energy grade, price after discounts) bought on
    ``purchased_on``; ``already_subsidised``: items of the category this consumer already had."""
    programme = programme_on(purchased_on)
    if programme is None:
        return NationalSubsidy(ZERO, Decimal(0), False, None, NotSubsidised.NO_PROGRAMME)
    refusal = _refusal(programme, category, energy_grade, price, already_subsidised)
    if refusal is not None:
        return NationalSubsidy(ZERO, Decimal(0), False, programme, refusal)
    rate = programme.rate + (programme.bonus_rate if energy_grade == 1 else Decimal(0))
    amount = money(price * rate)
    capped = amount > programme.cap
    return NationalSubsidy(min(amount, programme.cap), rate, capped, programme, None)
