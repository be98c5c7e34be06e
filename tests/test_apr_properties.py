"""Properties of the APR (monthly IRR × 12) over generated cash flows and plans."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.finance.installments import FeeTerms, apr_from_cash_flows, build_installment, display_apr

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")

amounts = st.integers(min_value=100_00, max_value=5_000_000_00).map(lambda c: Decimal(c) * CENT)
periods = st.integers(min_value=1, max_value=60)
monthly_rates = st.integers(min_value=0, max_value=300).map(lambda bp: Decimal(bp) * BASIS_POINT)
upfront_rates = st.integers(min_value=0, max_value=2000).map(lambda bp: Decimal(bp) * BASIS_POINT)


@st.composite
def cash_flows(draw: st.DrawFn) -> tuple[Decimal, list[Decimal]]:
    """An amount received and repayments that return at least that amount."""
    n = draw(periods)
    received = draw(amounts)
    base = (received / n).quantize(CENT)
    payments = [base] * (n - 1) + [received - base * (n - 1)]
    most = int(received * 5)  # fees up to 5 % of the amount a month, in cents
    extras = draw(st.lists(st.integers(0, most), min_size=n, max_size=n))
    return received, [p + Decimal(e) * CENT for p, e in zip(payments, extras, strict=True)]


@settings(deadline=None)
@given(amounts, periods, monthly_rates, upfront_rates)
def test_apr_is_never_negative(principal: Decimal, n: int, monthly: Decimal, upfront: Decimal) -> None:
    inst = build_installment(principal, FeeTerms(n, monthly, upfront))
    assert inst.apr_exact >= 0
    assert inst.apr >= 0


@settings(deadline=None)
@given(amounts, periods, monthly_rates, upfront_rates)
def test_apr_is_zero_exactly_when_repayments_equal_the_amount_received(
    principal: Decimal, n: int, monthly: Decimal, upfront: Decimal
) -> None:
    inst = build_installment(principal, FeeTerms(n, monthly, upfront))
    repaid_exactly = sum(inst.repayments) == inst.amount_received
    assert (inst.apr_exact == 0) == repaid_exactly
    assert (inst.apr == 0) == repaid_exactly


@settings(deadline=None)
@given(cash_flows())
def test_apr_is_zero_exactly_when_generated_repayments_sum_to_the_amount(
    flows: tuple[Decimal, list[Decimal]],
) -> None:
    received, payments = flows
    assert (apr_from_cash_flows(received, payments) == 0) == (sum(payments) == received)


@settings(deadline=None)
@given(cash_flows(), st.data(), st.integers(1, 10_000_00))
def test_any_added_fee_raises_apr(
    flows: tuple[Decimal, list[Decimal]], data: st.DataObject, fee_cents: int
) -> None:
    received, payments = flows
    fee = Decimal(fee_cents) * CENT
    before = apr_from_cash_flows(received, payments)
    month = data.draw(st.integers(0, len(payments) - 1))
    with_monthly_fee = [*payments[:month], payments[month] + fee, *payments[month + 1 :]]
    assert apr_from_cash_flows(received, with_monthly_fee) > before
    if fee < received:
        assert apr_from_cash_flows(received - fee, payments) > before


@settings(deadline=None)
@given(amounts, periods, monthly_rates, upfront_rates)
def test_a_higher_plan_fee_rate_raises_apr(
    principal: Decimal, n: int, monthly: Decimal, upfront: Decimal
) -> None:
    base = build_installment(principal, FeeTerms(n, monthly, upfront))
    assert (
        build_installment(principal, FeeTerms(n, monthly + BASIS_POINT, upfront)).apr_exact > base.apr_exact
    )
    assert (
        build_installment(principal, FeeTerms(n, monthly, upfront + BASIS_POINT)).apr_exact > base.apr_exact
    )


@settings(deadline=None)
@given(cash_flows(), st.integers(2, 10_000))
def test_scaling_all_amounts_leaves_apr_unchanged(flows: tuple[Decimal, list[Decimal]], factor: int) -> None:
    received, payments = flows
    apr = apr_from_cash_flows(received, payments)
    scaled = apr_from_cash_flows(received * factor, [p * factor for p in payments])
    assert abs(scaled - apr) < Decimal("1e-20")
    assert display_apr(scaled) == display_apr(apr)
