"""Installment engine and quotes: goldens, rounding, eligibility, APR = IRR of the cash flows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from bot.errors import InputError
from bot.finance.catalog import quote_for_sku
from bot.finance.installments import FeeTerms, apr_text, build_installment, display_apr, is_interest_free
from bot.finance.quote import best_quote, installment_card, quote_installment
from bot.store.catalog import FeeStructure, FinancePlan, Product, split_list
from bot.store.models import Tenant
from tests.factories import load_demo_catalog
from tests.finance_fixtures import demo_plan, demo_product, demo_rows, npv

D = Decimal


def test_golden_12000_over_12_months_at_0_6_percent_flat_pays_1072_at_apr_13_03() -> None:
    inst = build_installment(D("12000"), FeeTerms(12, monthly_fee_rate=D("0.006")))
    assert inst.monthly_payment == D("1072.00")
    assert inst.fees_total == D("864.00")
    assert inst.apr == D("0.1303")
    assert apr_text(inst.apr) == "13.03%"
    assert not is_interest_free(inst)


def test_3_percent_upfront_fee_on_a_zero_interest_12_period_plan_has_apr_5_66() -> None:
    inst = build_installment(D("12000"), FeeTerms(12, upfront_fee_rate=D("0.03")))
    assert inst.upfront_fee == D("360.00")
    assert inst.monthly_payment == D("1000.00")
    assert inst.apr == D("0.0566")
    assert not is_interest_free(inst)


def test_true_zero_interest_has_apr_exactly_zero_and_may_be_called_interest_free() -> None:
    inst = build_installment(D("4599"), FeeTerms(6))
    assert inst.apr_exact == 0
    assert inst.apr == D("0.0000")
    assert inst.fees_total == 0
    assert is_interest_free(inst)


def test_principal_parts_round_to_cents_and_the_last_payment_absorbs_the_rest() -> None:
    inst = build_installment(D("5000"), FeeTerms(12, monthly_fee_rate=D("0.0066")))
    assert inst.monthly_payment == D("449.67")  # 416.67 + 33.00 (DOMAIN_FACTS §3d worked example)
    assert inst.schedule[-1].principal == D("416.63")
    assert sum(row.principal for row in inst.schedule) == D("5000")
    assert inst.schedule[-1].remaining == 0


def test_a_positive_apr_is_never_displayed_as_zero() -> None:
    inst = build_installment(D("1000000"), FeeTerms(36, upfront_fee_rate=D("0.000001")))
    assert inst.apr_exact > 0
    assert inst.apr == D("0.0001")
    assert display_apr(D("0.00004")) == D("0.0001")
    assert not is_interest_free(inst)


def test_is_interest_free_reads_a_card_the_same_way() -> None:
    assert is_interest_free({"apr": "0.0000", "fees_total": "0.00"})
    assert not is_interest_free({"apr": "0.0001", "fees_total": "0.01"})
    assert not is_interest_free({"apr": "0.1303", "fees_total": "864.00"})


def test_repayments_below_the_amount_received_are_refused() -> None:
    with pytest.raises(InputError):
        build_installment(D("5"), FeeTerms(12))


def _demo_product_for(plan: FinancePlan) -> Product:
    found: Product = next(
        p
        for p in demo_rows("products")
        if p.category in split_list(plan.eligible_categories)
        and (not plan.eligible_brands or p.brand in split_list(plan.eligible_brands))
        and plan.min_amount <= p.price * (1 - plan.down_payment_share) <= plan.max_amount
    )
    return found


@pytest.mark.parametrize("plan", demo_rows("finance_plans"), ids=lambda p: p.id)
def test_every_demo_plan_quotes_an_apr_equal_to_the_irr_of_its_own_cash_flows(
    plan: FinancePlan,
) -> None:
    card = installment_card(quote_installment(_demo_product_for(plan), plan, plan.periods))
    price, down = D(card["product"]["price"]), D(card["down_payment"])
    received = price - down - D(card.get("upfront_fee", "0"))
    payments = [D(row["payment"]) for row in card["schedule"]]
    assert received + D(card["fees_total"]) == sum(payments)
    assert D(card["total_cost"]) == down + sum(payments) + D(card.get("upfront_fee", "0"))
    apr = D(card["apr"])
    if apr == 0:
        assert sum(payments) == received
        assert plan.fee_structure == FeeStructure.SUBSIDISED_ZERO
        return
    half_step = D("0.00005")
    assert npv((apr - half_step) / 12, received, payments) < 0
    assert npv((apr + half_step) / 12, received, payments) > 0


def test_demo_catalog_offers_the_required_plans() -> None:
    plans = demo_rows("finance_plans")
    golden = [p for p in plans if p.periods == 12 and p.monthly_fee_rate == D("0.006")]
    assert golden and golden[0].fee_structure == FeeStructure.FLAT_MONTHLY
    assert any(p.fee_structure == FeeStructure.SUBSIDISED_ZERO and p.subsidiser for p in plans)
    assert any(p.fee_structure == FeeStructure.UPFRONT for p in plans)
    assert {3, 6, 12, 24, 36} <= {p.periods for p in plans}


def test_headline_fresh_air_unit_in_12_installments_gets_the_golden_terms(session: Session) -> None:
    session.add(
        Tenant(
            id="demo",
            name="演示",
            brand="海尔",
            assistant_name="小智",
            tariff_yuan_per_kwh=D("0.4883"),
        )
    )
    load_demo_catalog(session, "demo")
    card = installment_card(quote_for_sku(session, "demo", "HAIER-XF-FA350", 12))
    assert (card["product"]["price"], card["monthly_payment"]) == ("12000.00", "1072.00")
    assert (card["apr"], card["apr_text"], card["total_cost"]) == ("0.1303", "13.03%", "12864.00")
    assert card["partner"] == "中国建设银行股份有限公司"


@pytest.mark.parametrize(
    ("sku", "plan_id", "periods"),
    [
        ("HAIER-XF-FA350", "haier-zero-6", 6),  # category not covered
        ("MIDEA-F6033-G1", "haier-zero-6", 6),  # brand not covered
        ("XIAOMI-CAM-2K", "ccb-12", 12),  # 199 元 is below the plan's minimum
        ("HAIER-XF-FA350", "ccb-12", 24),  # the plan is for 12 periods only
    ],
)
def test_a_plan_that_does_not_apply_is_refused(sku: str, plan_id: str, periods: int) -> None:
    with pytest.raises(InputError) as err:
        quote_installment(demo_product(sku), demo_plan(plan_id), periods)
    assert err.value.code == "plan_not_eligible"


def test_best_quote_prefers_the_lowest_apr_and_equal_inputs_give_equal_terms() -> None:
    fridge, plans = demo_product("HAIER-BCD470-G1"), demo_rows("finance_plans")
    first = best_quote(fridge, plans, 6)
    assert first.plan_id == "haier-zero-6"
    assert installment_card(first) == installment_card(best_quote(fridge, list(reversed(plans)), 6))
    tv = best_quote(demo_product("HUAWEI-TV-V5-65"), plans, 12)
    assert tv.plan_id == "msxf-promo-12"


def test_down_payment_is_not_financed_and_total_cost_is_price_plus_fees() -> None:
    card = installment_card(
        quote_installment(demo_product("HUAWEI-TV-V5-65"), demo_plan("msxf-promo-12"), 12)
    )
    assert card["down_payment"] == "599.90"
    assert card["upfront_fee"] == "161.97"  # 3 % of the 5,399.10 financed
    assert card["total_cost"] == "6160.97"
    assert card["apr"] == "0.0566"


def test_card_carries_the_contract_fields() -> None:
    card = installment_card(
        quote_installment(demo_product("HAIER-XF-FA350"), demo_plan("ccb-12"), 12),
        offer_id="offer-1",
        monthly_saving=D("35.5"),
    )
    contract = {
        "offer_id",
        "product",
        "partner",
        "periods",
        "down_payment",
        "monthly_payment",
        "fees_total",
        "total_cost",
        "apr",
        "apr_text",
        "monthly_saving",
        "cancel_until",
    }
    assert contract <= card.keys()
    assert (card["type"], card["offer_id"], card["monthly_saving"]) == (
        "installment_quote",
        "offer-1",
        "35.50",
    )
    assert card["cancel_until"] is None
    assert "upfront_fee" not in card
    assert len(card["schedule"]) == 12
