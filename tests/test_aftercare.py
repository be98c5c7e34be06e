"""Extended warranty, insurance hand-off, trade-in and subscriptions from the demo catalog."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.errors import NotFoundError
from bot.finance.aftercare import (
    WarrantyRefusal,
    age_in_years,
    insurance_card,
    insurance_handoffs,
    subscriptions_for,
    warranty_card,
    warranty_decision,
    warranty_options,
)
from bot.finance.trade_in import NoSubsidy, trade_in_card, trade_in_quote
from bot.store.catalog import TradeInRule
from tests.finance_fixtures import demo_product, demo_rows, demo_warranty

D = Decimal
IN_2026 = date(2026, 6, 1)
"""A purchase under the 2026 national programme (the demo catalog's)."""


def test_warranty_price_rises_with_device_age_and_faults() -> None:
    plan = demo_warranty("wp-robot-1y")  # 199 元, +15 % a year, +20 % a fault
    new = warranty_decision(plan, category="扫地机器人", age_years=0, fault_count=0)
    used = warranty_decision(plan, category="扫地机器人", age_years=2, fault_count=3)
    assert new.quote is not None and new.quote.price == D("199.00")
    assert used.quote is not None and used.quote.price == D("378.10")  # 199 × 1.9
    assert used.quote.base_price == D("199.00")


@pytest.mark.parametrize(
    ("category", "age", "faults", "refusal"),
    [
        ("空调", 1, 0, WarrantyRefusal.CATEGORY),
        ("扫地机器人", 5, 0, WarrantyRefusal.TOO_OLD),
        ("扫地机器人", 1, 4, WarrantyRefusal.TOO_MANY_FAULTS),
    ],
)
def test_ineligible_devices_get_no_warranty_quote(
    category: str, age: int, faults: int, refusal: WarrantyRefusal
) -> None:
    decision = warranty_decision(
        demo_warranty("wp-robot-1y"), category=category, age_years=age, fault_count=faults
    )
    assert (decision.eligible, decision.refusal, decision.quote) == (False, refusal, None)


def test_warranty_options_list_the_category_shortest_cover_first() -> None:
    options = warranty_options(demo_rows("warranty_plans"), category="扫地机器人", age_years=4, fault_count=0)
    assert [(o.plan_id, o.eligible) for o in options] == [
        ("wp-robot-1y", True),
        ("wp-robot-2y", False),
    ]
    card = warranty_card(options[0].quote)  # type: ignore[arg-type]
    assert (card["type"], card["years"], card["onsite_fee_covered"]) == ("warranty_offer", 1, False)


def test_age_counts_full_years_from_the_purchase_date() -> None:
    assert age_in_years(date(2022, 8, 20), date(2026, 8, 19)) == 3
    assert age_in_years(date(2022, 8, 20), date(2026, 8, 20)) == 4


def test_insurance_is_a_hand_off_to_the_licensed_insurer() -> None:
    [camera] = insurance_handoffs(demo_rows("insurance_products"), "摄像头")
    card = insurance_card(camera)
    assert card["type"] == "insurance_handoff"
    assert card["insurer"] == "中国人民财产保险股份有限公司"
    assert card["handoff_url"].startswith("https://")
    assert {"insurer", "coverage", "handoff_url"} <= card.keys()
    assert insurance_handoffs(demo_rows("insurance_products"), "新风机") == []


def test_trade_in_of_an_old_ac_for_a_grade_1_unit_gets_value_plus_national_subsidy() -> None:
    quote = trade_in_quote(
        demo_rows("trade_in_rules"),
        category="空调",
        old_age_years=11,
        purchased_on=IN_2026,
        new_product=demo_product("GREE-KFR35-YJ1"),
    )
    assert (quote.rule_id, quote.old_unit_value) == ("ti-ac-10", D("60.00"))
    assert quote.subsidy == D("494.85")  # 15 % of 3,299
    assert quote.total == D("554.85")
    assert quote.subsidy_source.startswith("2026")
    assert trade_in_card(quote)["total"] == "554.85"


def test_age_bands_start_inclusive_and_end_exclusive() -> None:
    rules = demo_rows("trade_in_rules")
    assert (
        trade_in_quote(rules, category="空调", old_age_years=4, purchased_on=IN_2026).rule_id == "ti-ac-0-5"
    )
    assert (
        trade_in_quote(rules, category="空调", old_age_years=5, purchased_on=IN_2026).rule_id == "ti-ac-5-10"
    )


@pytest.mark.parametrize(
    ("sku", "reason"),
    [
        ("MIDEA-KFR35-G3", NoSubsidy.GRADE),  # grade 3: the 2026 programme needs grade 1
        ("HAIER-BCD470-G1", NoSubsidy.OTHER_CATEGORY),
        (None, NoSubsidy.NO_NEW_PRODUCT),
    ],
)
def test_no_subsidy_when_the_new_unit_does_not_qualify(sku: str | None, reason: NoSubsidy) -> None:
    new = demo_product(sku) if sku else None
    quote = trade_in_quote(
        demo_rows("trade_in_rules"), category="空调", old_age_years=8, purchased_on=IN_2026, new_product=new
    )
    assert (quote.subsidy, quote.no_subsidy, quote.old_unit_value) == (
        D("0.00"),
        reason,
        D("120.00"),
    )


def test_subsidy_respects_the_price_limit_and_the_cap() -> None:
    rule = next(r for r in demo_rows("trade_in_rules") if r.id == "ti-ac-0-5")
    pricey = demo_product("GREE-KFR35-YJ1").model_copy(update={"price": D("6999.00")})
    assert (
        trade_in_quote(
            [rule], category="空调", old_age_years=1, purchased_on=IN_2026, new_product=pricey
        ).no_subsidy
        == NoSubsidy.PRICE
    )
    capped_rule = TradeInRule(**{**rule.model_dump(), "subsidy_cap": D("300.00")})
    capped = trade_in_quote(
        [capped_rule],
        category="空调",
        old_age_years=1,
        purchased_on=IN_2026,
        new_product=demo_product("GREE-KFR35-YJ1"),
    )
    assert capped.subsidy == D("300.00")


def test_manufacturer_trade_in_without_a_programme_pays_only_the_old_unit_value() -> None:
    quote = trade_in_quote(
        demo_rows("trade_in_rules"),
        category="扫地机器人",
        old_age_years=3,
        purchased_on=IN_2026,
        new_product=demo_product("ECOVACS-T30PRO"),
    )
    assert (quote.old_unit_value, quote.subsidy, quote.no_subsidy) == (
        D("150.00"),
        D("0.00"),
        NoSubsidy.NO_PROGRAMME,
    )


def test_a_category_without_rules_cannot_be_traded_in() -> None:
    with pytest.raises(NotFoundError):
        trade_in_quote(demo_rows("trade_in_rules"), category="新风机", old_age_years=2, purchased_on=IN_2026)


def test_subscriptions_list_the_category_first_then_whole_home_services() -> None:
    found = subscriptions_for(demo_rows("subscriptions"), "空调")
    assert [s.subscription_id for s in found] == ["sub-ac-clean", "sub-home-care"]
    assert found[0].points_price == 1290 and found[1].points_price is None
