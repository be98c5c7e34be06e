"""Tiered tariffs (阶梯电价): marginal tiers, monthly vs annual counters, device shares."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.energy.tariff import (
    SCHEDULE_KEYS,
    average_price,
    device_share_cost,
    marginal_price,
    period_cost,
    schedule,
    tiered_charge,
)
from bot.errors import InputError

D = Decimal


def _spread(first: date, days: int, total: Decimal) -> dict[date, Decimal]:
    """``total`` kWh spread evenly over ``days`` days from ``first``."""
    per_day = total / days
    return {first + timedelta(days=i): per_day for i in range(days)}


def test_shanghai_worked_example_4000_kwh_in_a_year_costs_2512() -> None:
    year = _spread(date(2025, 1, 1), 365, D(4000))
    cost = period_cost(schedule("shanghai"), year, date(2025, 1, 1), date(2026, 1, 1))
    assert cost == D("2512.00")


def test_tiers_are_marginal_not_whole_bill() -> None:
    sh = schedule("shanghai")
    assert tiered_charge(D(3120), sh.ceilings, sh.prices) == D("1925.04")
    # one kWh over the ceiling costs the tier-2 price, not a repricing of the whole year
    assert tiered_charge(D(3121), sh.ceilings, sh.prices) - D("1925.04") == D("0.667")
    assert tiered_charge(D(5000), sh.ceilings, sh.prices) == D("1925.04") + 1680 * D("0.667") + 200 * D(
        "0.917"
    )


def test_beijing_monthly_tiers() -> None:
    bj = schedule("beijing")
    march = {date(2025, 3, 1): D(500)}
    # 240 × 0.4883 + 160 × 0.5383 + 100 × 0.7883 = 117.192 + 86.128 + 78.83
    assert period_cost(bj, march, date(2025, 3, 1), date(2025, 4, 1)) == D("282.15")
    assert period_cost(bj, {date(2025, 3, 1): D(200)}, date(2025, 3, 1), date(2025, 4, 1)) == D("97.66")


def test_beijing_counter_resets_each_month() -> None:
    bj = schedule("beijing")
    two_months = {date(2025, 3, 10): D(240), date(2025, 4, 10): D(240)}
    # both months stay in tier 1 (480 kWh in one month would not)
    assert period_cost(bj, two_months, date(2025, 3, 1), date(2025, 5, 1)) == D("234.38")


def test_shenzhen_summer_quota_is_larger_than_winter() -> None:
    sz = schedule("shenzhen")
    july = {date(2025, 7, 15): D(300)}
    january = {date(2025, 1, 15): D(300)}
    # summer: 260 × 0.6542 + 40 × 0.7042 = 170.092 + 28.168
    assert period_cost(sz, july, date(2025, 7, 1), date(2025, 8, 1)) == D("198.26")
    # winter: 200 × 0.6542 + 100 × 0.7042 = 130.84 + 70.42
    assert period_cost(sz, january, date(2025, 1, 1), date(2025, 2, 1)) == D("201.26")


def test_shenzhen_summer_runs_may_to_october() -> None:
    sz = schedule("shenzhen")
    assert sz.ceilings_for(date(2025, 5, 1)) == (D(260), D(600))
    assert sz.ceilings_for(date(2025, 10, 1)) == (D(260), D(600))
    assert sz.ceilings_for(date(2025, 11, 1)) == (D(200), D(400))
    assert sz.ceilings_for(date(2025, 4, 1)) == (D(200), D(400))


def test_zhejiang_annual_tiers() -> None:
    zj = schedule("zhejiang")
    year = {date(2025, 6, 1): D(3000)}
    # 2,760 × 0.538 + 240 × 0.588
    assert period_cost(zj, year, date(2025, 1, 1), date(2026, 1, 1)) == D("1626.00")


def test_annual_scheme_counts_year_to_date_so_december_kwh_cost_more() -> None:
    sh = schedule("shanghai")
    year = {date(2025, m, 1): D(300) for m in range(1, 13)}  # 3,600 kWh over the year
    january = period_cost(sh, year, date(2025, 1, 1), date(2025, 2, 1))
    december = period_cost(sh, year, date(2025, 12, 1), date(2026, 1, 1))
    assert january == D("185.10")  # 300 × 0.617
    assert december == D("200.10")  # 300 × 0.667: the year is already past 3,120
    total = period_cost(sh, year, date(2025, 1, 1), date(2026, 1, 1))
    assert total == D("2245.20")  # 3,120 × 0.617 + 480 × 0.667


def test_period_across_two_accounting_years_restarts_the_counter() -> None:
    sh = schedule("shanghai")
    days = {date(2024, 12, 31): D(3500), date(2025, 1, 1): D(100)}
    cost = period_cost(sh, days, date(2024, 12, 31), date(2025, 1, 2))
    assert cost == D("2178.50") + D("61.70")  # 3,120 × .617 + 380 × .667, then 100 × .617 fresh


def test_shanghai_large_family_gets_100_kwh_a_month_more_quota() -> None:
    sh = schedule("shanghai")
    assert sh.ceilings_for(date(2025, 1, 1), members=5) == (D(4320), D(6000))
    assert sh.ceilings_for(date(2025, 1, 1), members=4) == (D(3120), D(4800))
    year = {date(2025, 6, 1): D(4000)}
    assert period_cost(sh, year, date(2025, 1, 1), date(2026, 1, 1), members=5) == D("2468.00")


def test_flat_schedule_uses_the_given_price() -> None:
    flat = schedule("flat", D("0.5"))
    assert period_cost(flat, {date(2025, 1, 1): D(1000)}, date(2025, 1, 1), date(2025, 2, 1)) == D("500.00")


def test_flat_without_price_and_unknown_region_are_refused() -> None:
    with pytest.raises(InputError):
        schedule("flat")
    with pytest.raises(InputError) as err:
        schedule("atlantis")
    assert err.value.code == "unknown_tariff"


def test_every_known_key_builds_a_schedule() -> None:
    for key in SCHEDULE_KEYS:
        sched = schedule(key, D("0.5"))
        assert len(sched.prices) == len(sched.ceilings) + 1


def test_marginal_price_follows_year_to_date_use() -> None:
    sh = schedule("shanghai")
    acc = date(2025, 1, 1)
    assert marginal_price(sh, D(0), acc) == D("0.617")
    assert marginal_price(sh, D(3120), acc) == D("0.667")
    assert marginal_price(sh, D(4800), acc) == D("0.917")


def test_device_share_is_device_kwh_times_household_average_price() -> None:
    march = {date(2025, 3, 1): D(500)}  # Beijing bill 282.15 for 500 kWh
    ac = device_share_cost("beijing", march, D(250), date(2025, 3, 1), date(2025, 4, 1))
    rest = device_share_cost("beijing", march, D(250), date(2025, 3, 1), date(2025, 4, 1))
    assert ac == D("141.08")  # 250 × 282.15 / 500 = 141.075
    assert abs(ac + rest - D("282.15")) <= D("0.01")


def test_device_share_with_no_household_use_falls_back_to_marginal_price() -> None:
    prior = {date(2025, 3, 1): D(300)}  # already in tier 2 this month
    cost = device_share_cost("beijing", prior, D(10), date(2025, 3, 2), date(2025, 3, 3))
    assert cost == D("5.38")


def test_average_price_rises_once_household_is_in_higher_tier() -> None:
    bj = schedule("beijing")
    small = average_price(bj, {date(2025, 3, 1): D(100)}, date(2025, 3, 1), date(2025, 4, 1))
    big = average_price(bj, {date(2025, 3, 1): D(600)}, date(2025, 3, 1), date(2025, 4, 1))
    assert small == D("0.4883")
    assert big > small
