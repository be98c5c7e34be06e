"""Resolve the contract's ``time_period`` values into concrete local-time periods.

Every period is a half-open interval ``[start, end)`` of aware datetimes at local midnights of the
tenant's timezone (Asia/Shanghai by default). Periods that contain ``now`` end at the end of the
current granule (today for day granularity, this month for month granularity): nothing after that
has been measured yet, so the totals are "so far".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError, InputError

DEFAULT_TZ = "Asia/Shanghai"
"""Timezone used when a tenant does not set one."""


class Granularity(StrEnum):
    """Size of one point of a period's series."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """A resolved time period: aware local bounds, Chinese label and series granularity."""

    start: datetime
    """Inclusive start, local midnight."""
    end: datetime
    """Exclusive end, local midnight."""
    label: str
    """Chinese label for cards, e.g. 本月."""
    granularity: Granularity
    """Day for month-sized periods, month for year-sized ones."""
    key: str = ""
    """The contract value it came from, e.g. ``this_month``."""

    @property
    def first_day(self) -> date:
        """First local day of the period."""
        return self.start.date()

    @property
    def end_day(self) -> date:
        """First local day after the period."""
        return self.end.date()


_LABELS = {
    "this_month": "本月",
    "last_month": "上个月",
    "this_year": "今年",
    "last_year": "去年",
    "last_7_days": "最近7天",
}
TIME_PERIODS: tuple[str, ...] = tuple(_LABELS)
"""The ``time_period`` entity values of CONTRACTS.md §2."""


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for ``tz`` or a ConfigError naming it."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"unknown timezone {tz!r}") from err


def _month_start(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _bounds(key: str, today: date) -> tuple[date, date, Granularity]:
    tomorrow = today + timedelta(days=1)
    if key == "this_month":
        return _month_start(today), tomorrow, Granularity.DAY
    if key == "last_month":
        return _month_start(today, -1), _month_start(today), Granularity.DAY
    if key == "this_year":
        return date(today.year, 1, 1), _month_start(today, 1), Granularity.MONTH
    if key == "last_year":
        return date(today.year - 1, 1, 1), date(today.year, 1, 1), Granularity.MONTH
    return today - timedelta(days=6), tomorrow, Granularity.DAY


def resolve(time_period: str, now: datetime, tz: str = DEFAULT_TZ) -> Period:
    """Resolve a contract ``time_period`` at ``now`` (aware) in timezone ``tz``."""
    if time_period not in _LABELS:
        raise InputError(f"未知的时间范围: {time_period}", code="bad_time_period")
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware", code="naive_datetime")
    zi = zone(tz)
    first, after, granularity = _bounds(time_period, now.astimezone(zi).date())
    return Period(
        start=local_midnight(first, zi),
        end=local_midnight(after, zi),
        label=_LABELS[time_period],
        granularity=granularity,
        key=time_period,
    )


def local_midnight(day: date, zi: ZoneInfo) -> datetime:
    """The aware datetime of local midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=zi)


def days(first: date, end: date) -> list[date]:
    """Every day from ``first`` up to but excluding ``end``."""
    return [first + timedelta(days=i) for i in range((end - first).days)]
