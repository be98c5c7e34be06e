"""The national trade-in subsidy by the year of purchase: categories, energy grade, rate, cap, price
ceiling and items per consumer, as DOMAIN_FACTS.md §5 gives them for 2024, 2025 and 2026."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.finance.subsidy import NotSubsidised, national_subsidy, programme_on
from bot.finance.trade_in import NoSubsidy, trade_in_quote
from bot.store.catalog import TradeInRule
from tests.finance_fixtures import demo_product, demo_rows

D = Decimal


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2023, 6, 1), None),
        (date(2024, 8, 24), None),  # before the 2024 programme's late-August start
        (date(2024, 8, 25), 2024),
        (date(2024, 12, 31), 2024),
        (date(2025, 1, 1), 2025),
        (date(2025, 12, 31), 2025),
        (date(2026, 1, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), None),  # no recorded notice: nothing is carried over
    ],
)
def test_the_purchase_date_picks_the_programme(day: date, year: int | None) -> None:
    found = programme_on(day)
    assert (found.year if found else None) == year


@pytest.mark.parametrize(
    ("day", "grade", "price", "amount", "rate"),
    [
        # 2024 and 2025: 15 % for grade 2 and better, 20 % for grade 1, 2,000 元 cap, no ceiling
        (date(2024, 9, 1), 1, "5000.00", "1000.00", "0.20"),
        (date(2024, 9, 1), 2, "5000.00", "750.00", "0.15"),
        (date(2025, 3, 1), 1, "5000.00", "1000.00", "0.20"),  # DOMAIN_FACTS' example
        (date(2025, 3, 1), 1, "12000.00", "2000.00", "0.20"),  # capped (DOMAIN_FACTS' example)
        (date(2025, 3, 1), 2, "12000.00", "1800.00", "0.15"),
        # 2026: grade 1 only, 15 %, items up to 6,000 元
        (date(2026, 6, 1), 1, "5000.00", "750.00", "0.15"),  # DOMAIN_FACTS' example
        (date(2026, 6, 1), 1, "6000.00", "900.00", "0.15"),  # the ceiling itself qualifies
        (date(2026, 6, 1), 1, "3299.00", "494.85", "0.15"),
    ],
)
def test_rate_and_cap_of_each_year(day: date, grade: int, price: str, amount: str, rate: str) -> None:
    got = national_subsidy("冰箱", grade, D(price), day)
    assert (got.amount, got.rate, got.refusal) == (D(amount), D(rate), None)
    assert got.source == f"{day.year}年家电以旧换新国家补贴"


def test_the_cap_is_reported_when_it_bites() -> None:
    assert national_subsidy("空调", 1, D("12000.00"), date(2025, 3, 1)).capped
    assert not national_subsidy("空调", 1, D("9000.00"), date(2025, 3, 1)).capped  # 1,800 < 2,000


@pytest.mark.parametrize(
    ("category", "day", "refusal"),
    [
        ("洗碗机", date(2024, 9, 1), NotSubsidised.CATEGORY),  # added only in 2025
        ("洗碗机", date(2025, 3, 1), None),
        ("洗碗机", date(2026, 3, 1), NotSubsidised.CATEGORY),  # dropped in 2026
        ("净水器", date(2025, 3, 1), None),
        ("吸油烟机", date(2024, 9, 1), None),
        ("吸油烟机", date(2026, 3, 1), NotSubsidised.CATEGORY),
        ("电视", date(2026, 3, 1), None),
        ("热水器", date(2026, 3, 1), None),
        ("扫地机器人", date(2025, 3, 1), NotSubsidised.CATEGORY),  # never covered
        ("智能门锁", date(2026, 3, 1), NotSubsidised.CATEGORY),
    ],
)
def test_the_categories_of_each_year(category: str, day: date, refusal: NotSubsidised | None) -> None:
    assert national_subsidy(category, 1, D("3000.00"), day).refusal == refusal


@pytest.mark.parametrize(
    ("day", "grade", "price", "refusal"),
    [
        (date(2024, 9, 1), 3, "3000.00", NotSubsidised.GRADE),
        (date(2025, 3, 1), 3, "3000.00", NotSubsidised.GRADE),
        (date(2026, 3, 1), 2, "3000.00", NotSubsidised.GRADE),  # 2026 needs grade 1
        (date(2026, 3, 1), None, "3000.00", NotSubsidised.GRADE),  # an unknown grade never qualifies
        (date(2026, 3, 1), 1, "6000.01", NotSubsidised.PRICE),
        (date(2026, 3, 1), 1, "12000.00", NotSubsidised.PRICE),
        (date(2027, 3, 1), 1, "3000.00", NotSubsidised.NO_PROGRAMME),
        (date(2024, 3, 1), 1, "3000.00", NotSubsidised.NO_PROGRAMME),
    ],
)
def test_grade_price_and_date_edges_refuse_with_a_reason(
    day: date, grade: int | None, price: str, refusal: NotSubsidised
) -> None:
    got = national_subsidy("冰箱", grade, D(price), day)
    assert (got.amount, got.refusal, got.source) == (D("0.00"), refusal, "")


@pytest.mark.parametrize(
    ("category", "day", "already", "refusal"),
    [
        ("冰箱", date(2025, 3, 1), 0, None),
        ("冰箱", date(2025, 3, 1), 1, NotSubsidised.UNITS),  # one item per category
        ("空调", date(2025, 3, 1), 2, None),  # 2025: up to three air conditioners
        ("空调", date(2025, 3, 1), 3, NotSubsidised.UNITS),
        ("空调", date(2026, 3, 1), 1, NotSubsidised.UNITS),
        ("空调", date(2024, 9, 1), 1, NotSubsidised.UNITS),
    ],
)
def test_items_per_consumer(category: str, day: date, already: int, refusal: NotSubsidised | None) -> None:
    got = national_subsidy(category, 1, D("3000.00"), day, already_subsidised=already)
    assert got.refusal == refusal


# ---- the trade-in quote uses the year's programme ----------------------------------------------


def _fridge_rule(**local: object) -> list[TradeInRule]:
    rule = next(r for r in demo_rows("trade_in_rules") if r.id == "ti-fridge-10")
    limits = {"subsidy_cap": None, "subsidy_max_grade": None, "subsidy_max_price": None}
    return [TradeInRule(**{**rule.model_dump(), **limits, **local})]


@pytest.mark.parametrize(
    ("day", "subsidy", "source", "reason"),
    [
        (date(2025, 3, 1), "1199.80", "2025年家电以旧换新国家补贴", None),  # 20 % for grade 1
        (date(2026, 3, 1), "899.85", "2026年家电以旧换新国家补贴", None),  # 15 %
        (date(2027, 3, 1), "0.00", "", NoSubsidy.NO_PROGRAMME),
    ],
)
def test_a_trade_in_quote_takes_the_subsidy_of_the_purchase_year(
    day: date, subsidy: str, source: str, reason: NoSubsidy | None
) -> None:
    viomi = demo_product("VIOMI-BCD521-G1")  # 5,999 元, grade 1
    quote = trade_in_quote(
        _fridge_rule(), category="冰箱", old_age_years=12, purchased_on=day, new_product=viomi
    )
    assert (quote.subsidy, quote.subsidy_source, quote.no_subsidy) == (D(subsidy), source, reason)
    assert quote.old_unit_value == D("40.00"), "the recycling value does not depend on the programme"


def test_a_sellers_local_limits_only_narrow_the_programme() -> None:
    viomi = demo_product("VIOMI-BCD521-G1")
    capped = trade_in_quote(
        _fridge_rule(subsidy_cap=D("500.00")),
        category="冰箱",
        old_age_years=12,
        purchased_on=date(2025, 3, 1),
        new_product=viomi,
    )
    assert capped.subsidy == D("500.00")
    lenient = trade_in_quote(
        _fridge_rule(subsidy_max_price=D("99999.00")),
        category="冰箱",
        old_age_years=12,
        purchased_on=date(2026, 3, 1),
        new_product=viomi.model_copy(update={"price": D("6999.00")}),
    )
    assert lenient.no_subsidy == NoSubsidy.PRICE, "a local limit cannot lift the programme's ceiling"


def test_a_category_the_year_does_not_cover_gets_no_subsidy_even_if_the_seller_offers_one() -> None:
    rule = next(r for r in demo_rows("trade_in_rules") if r.id == "ti-ac-5-10")
    dishwasher_rule = TradeInRule(**{**rule.model_dump(), "category": "洗碗机"})
    dishwasher = demo_product("GREE-KFR35-YJ1").model_copy(update={"category": "洗碗机"})
    quote = trade_in_quote(
        [dishwasher_rule],
        category="洗碗机",
        old_age_years=6,
        purchased_on=date(2026, 3, 1),
        new_product=dishwasher,
    )
    assert (quote.subsidy, quote.no_subsidy) == (D("0.00"), NoSubsidy.CATEGORY_NOT_COVERED)
