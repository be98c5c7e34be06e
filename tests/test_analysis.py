"""Energy analysis: period use and cost, label checks, upgrade payback, saving vs installment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.energy.measured import UsageBasis, annual_price, annual_use, measured_saving, rating_check
from bot.energy.upgrades import Candidate, rank_upgrades, saving_vs_installment, upgrade_saving
from bot.energy.usage import device_usage, household_usage
from bot.errors import InputError, NotFoundError
from bot.periods import resolve
from bot.store.models import Device, EnergyReading, Household, Tenant
from bot.telemetry.series import daily_totals

D = Decimal
SH = ZoneInfo("Asia/Shanghai")


def _home(session: Session, region: str = "beijing") -> int:
    session.add(
        Tenant(
            id=region,
            name="Acme",
            brand="Acme",
            assistant_name="小A",
            tariff_region=region,
            tariff_yuan_per_kwh=D("0.5"),
        )
    )
    session.flush()
    home = Household(tenant_id=region, name="张家")
    session.add(home)
    session.flush()
    return home.id or 0


def _device(session: Session, household: int, category: str = "空调", rated: str | None = None) -> int:
    dev = Device(
        household_id=household,
        category=category,
        name=f"客厅{category}",
        brand="海尔",
        model="X",
        room="客厅",
        purchased_on=date(2015, 1, 1),
        warranty_until=date(2016, 1, 1),
        rated_annual_kwh=None if rated is None else D(rated),
    )
    session.add(dev)
    session.flush()
    return dev.id or 0


def _daily(session: Session, device: int, first: date, days: int, kwh: str) -> None:
    """One 24 h reading a day from local midnight."""
    for i in range(days):
        day = first + timedelta(days=i)
        start = datetime(day.year, day.month, day.day, tzinfo=SH)
        session.add(EnergyReading(device_id=device, start=start, seconds=86_400, kwh=D(kwh)))
    session.flush()


MARCH_10 = datetime(2025, 3, 10, 12, tzinfo=SH)


# --- use and cost per period -------------------------------------------------------------------


def test_household_cost_uses_tiers_and_devices_share_it_by_average_price(session: Session) -> None:
    home = _home(session)
    ac, fridge = _device(session, home), _device(session, home, "冰箱")
    _daily(session, ac, date(2025, 2, 1), 28, "10")
    _daily(session, fridge, date(2025, 2, 1), 28, "5")
    usage = household_usage(session, home, resolve("last_month", MARCH_10))
    # 420 kWh in Beijing: 240 × .4883 + 160 × .5383 + 20 × .7883
    assert (usage.kwh, usage.cost) == (D("420.000"), D("219.09"))
    assert [d.cost for d in usage.devices] == [D("146.06"), D("73.03")]
    assert sum(d.cost for d in usage.devices) == usage.cost
    assert len(usage.series) == 28 and usage.series[0].label == "2月1日"
    assert usage.series[0].kwh == D("15.000")


def test_device_usage_matches_its_share_in_the_household(session: Session) -> None:
    home = _home(session)
    ac, fridge = _device(session, home), _device(session, home, "冰箱")
    _daily(session, ac, date(2025, 2, 1), 28, "10")
    _daily(session, fridge, date(2025, 2, 1), 28, "5")
    one = device_usage(session, ac, resolve("last_month", MARCH_10))
    assert (one.kwh, one.cost, one.category) == (D("280.000"), D("146.06"), "空调")


def test_annual_tariff_counts_earlier_months_of_the_year(session: Session) -> None:
    home = _home(session, "shanghai")
    ac = _device(session, home)
    _daily(session, ac, date(2025, 1, 1), 32, "100")  # 3,200 kWh by 1 Feb: past the 3,120 ceiling
    _daily(session, ac, date(2025, 2, 2), 27, "1")
    usage = household_usage(session, home, resolve("last_month", MARCH_10, "Asia/Shanghai"))
    assert usage.kwh == D("127.000")
    # January used 3,100: 20 kWh of 1 Feb at .617, the other 107 February kWh at .667
    assert usage.cost == D("83.71")


def test_year_period_has_one_series_point_per_month(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 1, 30), 5, "2")
    usage = household_usage(session, home, resolve("this_year", MARCH_10))
    assert [(p.label, p.kwh) for p in usage.series] == [
        ("1月", D("4.000")),
        ("2月", D("6.000")),
        ("3月", D("0.000")),
    ]


def test_reading_across_local_midnight_is_split_pro_rata(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    noon = datetime(2025, 3, 1, 12, tzinfo=SH)
    session.add(EnergyReading(device_id=ac, start=noon, seconds=86_400, kwh=D("6")))
    session.flush()
    days = daily_totals(session, [ac], date(2025, 3, 1), date(2025, 3, 3), SH)[ac]
    assert {d: (t.kwh, t.seconds) for d, t in days.items()} == {
        date(2025, 3, 1): (D(3), 43_200),
        date(2025, 3, 2): (D(3), 43_200),
    }


def test_unknown_household_or_device_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError):
        household_usage(session, 404, resolve("last_month", MARCH_10))
    with pytest.raises(NotFoundError):
        device_usage(session, 404, resolve("last_month", MARCH_10))


# --- rating comparison -------------------------------------------------------------------------

NOW = datetime(2025, 12, 31, 20, tzinfo=SH)


def test_old_fridge_using_twice_its_label_is_reported_as_ratio_two(session: Session) -> None:
    home = _home(session)
    fridge = _device(session, home, "冰箱", rated="365")
    _daily(session, fridge, date(2025, 1, 1), 365, "2")
    check = rating_check(session, fridge, NOW)
    assert check is not None
    assert (check.measured_annual_kwh, check.ratio, check.excess_kwh) == (
        D("730.0"),
        D("2.00"),
        D("365.0"),
    )
    assert annual_use(session, fridge, NOW).basis is UsageBasis.MEASURED


def test_short_history_is_annualised_by_covered_time(session: Session) -> None:
    home = _home(session)
    fridge = _device(session, home, "冰箱", rated="365")
    _daily(session, fridge, date(2025, 11, 1), 61, "2")
    use = annual_use(session, fridge, NOW)
    assert (use.kwh, use.basis, use.covered_days) == (D("730.0"), UsageBasis.ANNUALISED, D("61.0"))


def test_too_little_telemetry_falls_back_to_the_label(session: Session) -> None:
    home = _home(session)
    fridge = _device(session, home, "冰箱", rated="365")
    _daily(session, fridge, date(2025, 12, 1), 10, "9")
    assert annual_use(session, fridge, NOW).basis is UsageBasis.RATING
    assert rating_check(session, fridge, NOW) is None


# --- upgrades and payback ----------------------------------------------------------------------

GRADE1_AC = Candidate("AC-G1-35", "一级能效空调 1.5匹", "空调", D("3000"), D("668"))


def test_grade1_ac_saves_168_kwh_a_year_against_grade3() -> None:
    saving = upgrade_saving(D("836"), GRADE1_AC, D("0.6"))
    assert (saving.kwh_saved_per_year, saving.money_saved_per_year, saving.monthly_saving) == (
        D("168.0"),
        D("100.80"),
        D("8.40"),
    )
    assert saving.payback_months == 358  # 3,000 / 8.40 = 357.1 → the 358th month


def test_old_fridge_upgrade_payback() -> None:
    fridge = Candidate("FR-G1", "一级能效冰箱", "冰箱", D("2999"), D("300"))
    saving = upgrade_saving(D("730"), fridge, D("0.5"))
    assert (saving.money_saved_per_year, saving.monthly_saving, saving.payback_months) == (
        D("215.00"),
        D("17.92"),
        168,
    )


def test_candidate_using_more_never_pays_back() -> None:
    saving = upgrade_saving(D("600"), GRADE1_AC, D("0.6"))
    assert saving.payback_months is None and saving.money_saved_per_year < 0


def test_rank_upgrades_keeps_same_category_savers_quickest_payback_first() -> None:
    cheap = Candidate("AC-G2", "二级能效空调", "空调", D("2000"), D("743"))
    fridge = Candidate("FR-G1", "一级能效冰箱", "冰箱", D("100"), D("1"))
    worse = Candidate("AC-G5", "五级能效空调", "空调", D("1000"), D("1013"))
    ranked = rank_upgrades("空调", D("1013"), [GRADE1_AC, cheap, fridge, worse], D("0.6"))
    assert [s.candidate.sku for s in ranked] == ["AC-G2", "AC-G1-35"]


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(InputError):
        upgrade_saving(D("-1"), GRADE1_AC, D("0.6"))
    with pytest.raises(InputError):
        saving_vs_installment(D("10"), D("-5"))


# --- the headline: saving against the installment ----------------------------------------------


def test_monthly_saving_set_against_installment_gives_net_monthly_cost() -> None:
    result = saving_vs_installment(D("17.92"), D("1072.00"))
    assert (result.net_monthly_cost, result.covered_share) == (D("1054.08"), D("0.02"))


def test_saving_larger_than_payment_gives_negative_net_cost() -> None:
    result = saving_vs_installment(D("120"), D("100"))
    assert (result.net_monthly_cost, result.covered_share) == (D("-20.00"), D("1.20"))


def test_zero_payment_has_no_share() -> None:
    assert saving_vs_installment(D("8.40"), D("0")).covered_share is None


# --- measured saving against the device's own baseline ------------------------------------------


def test_measured_saving_against_own_baseline(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 5, 2), 30, "3")
    _daily(session, ac, date(2025, 6, 1), 10, "2")
    saving = measured_saving(session, ac, date(2025, 6, 1), date(2025, 6, 1), date(2025, 6, 11))
    assert (saving.baseline_kwh_per_day, saving.expected_kwh, saving.kwh_saved) == (
        D("3.000"),
        D("30.000"),
        D("10.000"),
    )


def test_missing_readings_are_not_counted_as_savings(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 5, 2), 30, "3")
    _daily(session, ac, date(2025, 6, 1), 5, "2")  # device offline 6–10 June
    saving = measured_saving(session, ac, date(2025, 6, 1), date(2025, 6, 1), date(2025, 6, 11))
    assert (saving.measured_covered_days, saving.kwh_saved) == (D("5.0"), D("5.000"))


def test_using_more_than_baseline_is_a_negative_saving(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 5, 2), 30, "3")
    _daily(session, ac, date(2025, 6, 1), 10, "4")
    saving = measured_saving(session, ac, date(2025, 6, 1), date(2025, 6, 1), date(2025, 6, 11))
    assert saving.kwh_saved == D("-10.000")


def test_no_baseline_or_window_before_change_is_refused(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 6, 1), 10, "2")
    with pytest.raises(InputError):
        measured_saving(session, ac, date(2025, 6, 1), date(2025, 6, 1), date(2025, 6, 11))
    with pytest.raises(InputError):
        measured_saving(session, ac, date(2025, 6, 1), date(2025, 5, 20), date(2025, 6, 11))


def test_annual_price_is_the_household_average(session: Session) -> None:
    home = _home(session)
    ac = _device(session, home)
    _daily(session, ac, date(2025, 1, 1), 365, "5")  # ~150 kWh a month: Beijing tier 1 only
    assert annual_price(session, home, datetime(2025, 12, 31, 12, tzinfo=UTC)) == D("0.4883")
