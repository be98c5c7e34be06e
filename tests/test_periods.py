"""The contract's time_period values resolve to local-midnight periods with Chinese labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError, InputError
from bot.periods import TIME_PERIODS, Granularity, resolve

SH = ZoneInfo("Asia/Shanghai")
# 2025-03-15 10:30 in Shanghai
NOW = datetime(2025, 3, 15, 2, 30, tzinfo=UTC)


def _local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


@pytest.mark.parametrize(
    ("key", "start", "end", "label", "granularity"),
    [
        ("this_month", _local(2025, 3, 1), _local(2025, 3, 16), "本月", Granularity.DAY),
        ("last_month", _local(2025, 2, 1), _local(2025, 3, 1), "上个月", Granularity.DAY),
        ("this_year", _local(2025, 1, 1), _local(2025, 4, 1), "今年", Granularity.MONTH),
        ("last_year", _local(2024, 1, 1), _local(2025, 1, 1), "去年", Granularity.MONTH),
        ("last_7_days", _local(2025, 3, 9), _local(2025, 3, 16), "最近7天", Granularity.DAY),
    ],
)
def test_each_time_period_resolves_to_local_bounds_and_label(
    key: str, start: datetime, end: datetime, label: str, granularity: Granularity
) -> None:
    period = resolve(key, NOW, "Asia/Shanghai")
    assert (period.start, period.end, period.label, period.granularity) == (
        start,
        end,
        label,
        granularity,
    )
    assert period.start.tzinfo is not None and period.end.tzinfo is not None


def test_local_date_not_utc_date_decides_the_month() -> None:
    # 2025-03-31 17:00 UTC is already 1 April in Shanghai
    now = datetime(2025, 3, 31, 17, 0, tzinfo=UTC)
    assert resolve("this_month", now).start == _local(2025, 4, 1)
    assert resolve("last_month", now).start == _local(2025, 3, 1)


def test_last_month_in_january_is_december_of_the_previous_year() -> None:
    now = _local(2025, 1, 10, 9)
    period = resolve("last_month", now)
    assert (period.start, period.end) == (_local(2024, 12, 1), _local(2025, 1, 1))


def test_this_year_in_december_ends_at_next_new_year() -> None:
    assert resolve("this_year", _local(2025, 12, 31, 23)).end == _local(2026, 1, 1)


def test_last_7_days_covers_seven_whole_days_including_today() -> None:
    period = resolve("last_7_days", NOW)
    assert period.end - period.start == timedelta(days=7)
    assert period.first_day.isoformat() == "2025-03-09"


def test_other_timezone_is_respected() -> None:
    period = resolve("this_month", NOW, "Europe/Berlin")
    assert period.start == datetime(2025, 3, 1, tzinfo=ZoneInfo("Europe/Berlin"))


def test_every_contract_value_is_supported() -> None:
    assert set(TIME_PERIODS) == {
        "this_month",
        "last_month",
        "this_year",
        "last_year",
        "last_7_days",
        "today",
        "yesterday",
        "this_week",
        "last_week",
        "same_period_last_year",
    }


def test_unknown_period_is_an_input_error() -> None:
    with pytest.raises(InputError) as err:
        resolve("next_week", NOW)
    assert err.value.code == "bad_time_period"


def test_naive_now_is_refused() -> None:
    with pytest.raises(InputError):
        resolve("this_month", datetime(2025, 3, 15))


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        resolve("this_month", NOW, "Mars/Olympus")
