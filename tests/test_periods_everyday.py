"""The time_period values of CONTRACTS.md §5: days, weeks, numbered days and months, comparisons."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.errors import InputError
from bot.periods import before, is_time_period, resolve, year_earlier

# Saturday 2026-12-05, 10:00 in Shanghai
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "first", "end", "label"),
    [
        ("today", date(2026, 12, 5), date(2026, 12, 6), "今天"),
        ("yesterday", date(2026, 12, 4), date(2026, 12, 5), "昨天"),
        ("this_week", date(2026, 11, 30), date(2026, 12, 6), "本周"),
        ("last_week", date(2026, 11, 23), date(2026, 11, 30), "上周"),
        ("last_3_days", date(2026, 12, 3), date(2026, 12, 6), "最近3天"),
        ("month_10", date(2026, 10, 1), date(2026, 11, 1), "10月"),
        ("month_12", date(2026, 12, 1), date(2026, 12, 6), "12月"),
        ("month_2", date(2026, 2, 1), date(2026, 3, 1), "2月"),
    ],
)
def test_new_periods_resolve_to_local_days(key: str, first: date, end: date, label: str) -> None:
    period = resolve(key, NOW)
    assert (period.first_day, period.end_day, period.label, period.key) == (first, end, label, key)


def test_a_month_later_in_the_year_than_now_is_last_years() -> None:
    in_march = datetime(2026, 3, 10, 2, tzinfo=UTC)
    period = resolve("month_10", in_march)
    assert (period.first_day, period.end_day, period.label) == (
        date(2025, 10, 1),
        date(2025, 11, 1),
        "去年10月",
    )


@pytest.mark.parametrize(
    "bad", ["last_0_days", "last_400_days", "month_13", "month_0", "last_x_days", "同期"]
)
def test_out_of_range_numbered_periods_are_refused(bad: str) -> None:
    assert not is_time_period(bad)
    with pytest.raises(InputError):
        resolve(bad, NOW)


def test_same_period_last_year_is_a_comparison_not_a_period() -> None:
    assert not is_time_period("same_period_last_year")
    earlier = year_earlier(resolve("this_month", NOW))
    assert (earlier.first_day, earlier.end_day, earlier.label) == (
        date(2025, 12, 1),
        date(2025, 12, 6),
        "去年同期",
    )


def test_leap_day_a_year_earlier_is_the_28th() -> None:
    leap = datetime(2028, 2, 29, 2, tzinfo=UTC)
    earlier = year_earlier(resolve("today", leap))
    assert earlier.first_day == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("key", "first", "end", "label"),
    [
        ("this_month", date(2026, 11, 1), date(2026, 11, 6), "上个月同期"),
        ("last_month", date(2026, 10, 1), date(2026, 11, 1), "10月"),
        ("this_week", date(2026, 11, 23), date(2026, 11, 29), "上周同期"),
        ("today", date(2026, 12, 4), date(2026, 12, 5), "昨天"),
        ("last_3_days", date(2026, 11, 30), date(2026, 12, 3), "再往前3天"),
    ],
)
def test_the_period_before_has_the_same_length(key: str, first: date, end: date, label: str) -> None:
    earlier = before(resolve(key, NOW))
    assert (earlier.first_day, earlier.end_day, earlier.label) == (first, end, label)
