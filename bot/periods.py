"""Resolve the contract's ``time_period`` values into concrete local-time periods.

Every period is a half-open interval ``[start, end)`` of aware datetimes at local midnights of the
tenant's timezone (Asia/Shanghai by default). Periods that contain ``now`` end at the end of the
current granule (today for day granularity, this month for month granularity): nothing after that
has been measured yet, so the totals are "so far".
"""

from __future__ import annotations

import re
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
    "today": "今天",
    "yesterday": "昨天",
    "this_week": "本周",
    "last_week": "上周",
}
TIME_PERIODS: tuple[str, ...] = (*_LABELS, "same_period_last_year")
"""The fixed ``time_period`` entity values of CONTRACTS.md §2 and §5; ``last_N_days`` and
``month_M`` are numbered (see :func:`is_time_period`)."""

SAME_PERIOD_LAST_YEAR = "same_period_last_year"
"""A comparison, not a period: the asked period one year earlier (see :func:`year_earlier`)."""

MAX_DAYS = 366
"""Longest ``last_N_days``."""

_LAST_DAYS = re.compile(r"^last_(\d{1,3})_days$")
_MONTH = re.compile(r"^month_(\d{1,2})$")


def is_time_period(value: str) -> bool:
    """Whether ``value`` is a period :func:`resolve` accepts."""
    if value in _LABELS:
        return True
    days, month = _LAST_DAYS.match(value), _MONTH.match(value)
    if days is not None:
        return 1 <= int(days.group(1)) <= MAX_DAYS
    return month is not None and 1 <= int(month.group(1)) <= 12


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for ``tz`` or a ConfigError naming it."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"unknown timezone {tz!r}") from err


def _month_start(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _bounds(key: str, today: date) -> tuple[date, date, Granularity, str]:
    tomorrow = today + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    fixed: dict[str, tuple[date, date, Granularity]] = {
        "this_month": (_month_start(today), tomorrow, Granularity.DAY),
        "last_month": (_month_start(today, -1), _month_start(today), Granularity.DAY),
        "this_year": (date(today.year, 1, 1), _month_start(today, 1), Granularity.MONTH),
        "last_year": (date(today.year - 1, 1, 1), date(today.year, 1, 1), Granularity.MONTH),
        "last_7_days": (today - timedelta(days=6), tomorrow, Granularity.DAY),
        "today": (today, tomorrow, Granularity.DAY),
        "yesterday": (today - timedelta(days=1), today, Granularity.DAY),
        "this_week": (monday, tomorrow, Granularity.DAY),
        "last_week": (monday - timedelta(days=7), monday, Granularity.DAY),
    }
    if key in fixed:
        first, end, granularity = fixed[key]
        return first, end, granularity, _LABELS[key]
    days = _LAST_DAYS.match(key)
    if days is not None:
        count = int(days.group(1))
        granularity = Granularity.DAY if count <= 62 else Granularity.MONTH
        return today - timedelta(days=count - 1), tomorrow, granularity, f"最近{count}天"
    month = int(key.removeprefix("month_"))
    year = today.year if month <= today.month else today.year - 1
    first = date(year, month, 1)
    end = min(_month_start(first, 1), tomorrow)
    label = f"{month}月" if year == today.year else f"去年{month}月"
    return first, end, Granularity.DAY, label


def resolve(time_period: str, now: datetime, tz: str = DEFAULT_TZ) -> Period:
    """Resolve a contract ``time_period`` at ``now`` (aware) in timezone ``tz``."""
    if not is_time_period(time_period):
        raise InputError(f"未知的时间范围: {time_period}", code="bad_time_period")
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware", code="naive_datetime")
    zi = zone(tz)
    first, after, granularity, label = _bounds(time_period, now.astimezone(zi).date())
    return Period(
        start=local_midnight(first, zi),
        end=local_midnight(after, zi),
        label=label,
        granularity=granularity,
        key=time_period,
    )


def year_earlier(period: Period) -> Period:
    """The same dates one year earlier (去年同期), labelled 去年同期; 29 February becomes the 28th."""
    zi = zone(str(period.start.tzinfo))
    first, end = _a_year_before(period.first_day), _a_year_before(period.end_day)
    return Period(
        local_midnight(first, zi),
        local_midnight(end, zi),
        "去年同期",
        period.granularity,
        SAME_PERIOD_LAST_YEAR,
    )


def before(period: Period) -> Period:
    """The period just before ``period`` of the same kind, as long as ``period`` (上个月同期 for 本月…)."""
    zi = zone(str(period.start.tzinfo))
    first, end = period.first_day, period.end_day
    if period.key in ("this_month", "last_month") or period.key.startswith("month_"):
        earlier = _month_start(first, -1)
        whole = end == _month_start(first, 1)
        later = first if whole else min(earlier + (end - first), first)
        label = "上个月同期" if period.key == "this_month" else f"{earlier.month}月"
        return Period(local_midnight(earlier, zi), local_midnight(later, zi), label, period.granularity, "")
    if period.key in ("this_year", "last_year"):
        earlier_year = date(first.year - 1, 1, 1)
        later = _a_year_before(end)
        label = "去年同期" if period.key == "this_year" else f"{earlier_year.year}年"
        return Period(
            local_midnight(earlier_year, zi), local_midnight(later, zi), label, period.granularity, ""
        )
    length = end - first
    if period.key == "this_week":
        week_ago = first - timedelta(days=7)
        return Period(
            local_midnight(week_ago, zi),
            local_midnight(week_ago + length, zi),
            "上周同期",
            period.granularity,
            "",
        )
    label = {"today": "昨天", "yesterday": "前天", "this_week": "上周同期", "last_week": "上上周"}.get(
        period.key, f"再往前{length.days}天"
    )
    return Period(
        local_midnight(first - length, zi), local_midnight(first, zi), label, period.granularity, ""
    )


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def local_midnight(day: date, zi: ZoneInfo) -> datetime:
    """The aware datetime of local midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=zi)


def days(first: date, end: date) -> list[date]:
    """Every day from ``first`` up to but excluding ``end``."""
    return [first + timedelta(days=i) for i in range((end - first).days)]
