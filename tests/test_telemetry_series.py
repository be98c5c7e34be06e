"""Local-day totals: readings within one local day are added whole (the fast path), exactly as the
general pro-rata spreading adds them, in zones with and without daylight saving; a period's series
points add up exactly as visiting every day of the period did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.energy.usage import SeriesPoint, _kwh, _series
from bot.periods import Granularity, Period, local_midnight
from bot.telemetry.records import MAX_INTERVAL_SECONDS
from bot.telemetry.series import _add_up, _spread, _Sums

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Asia/Beirut")
FIRST = date(2025, 3, 20)
END = date(2025, 4, 12)


def reference(rows: list[tuple[int, datetime, int, Decimal]], zi: ZoneInfo) -> dict[int, _Sums]:
    """Every reading spread pro rata at local midnights (the general path for all rows)."""
    sums: dict[int, _Sums] = {1: {}, 2: {}}
    lo, hi = local_midnight(FIRST, zi), local_midnight(END, zi)
    midnights: dict[date, datetime] = {}
    for device_id, start, seconds, kwh in rows:
        if seconds > 0:
            _spread((start, seconds, kwh), lo, hi, zi, sums[device_id], midnights)
    return sums


@st.composite
def readings(draw: st.DrawFn, zi: ZoneInfo) -> list[tuple[int, datetime, int, Decimal]]:
    """Daily readings at local midnight, hourly ones, odd lengths, some across midnight or the ends."""
    rows = []
    base = local_midnight(FIRST - timedelta(days=1), zi).astimezone(UTC)
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(("daily", "hourly", "odd")))
        if kind == "daily":
            day = FIRST + timedelta(days=draw(st.integers(-1, 23)))
            start = local_midnight(day, zi).astimezone(UTC)
            length = local_midnight(day + timedelta(days=1), zi) - local_midnight(day, zi)
            seconds = int(length.total_seconds())
        else:
            start = base + timedelta(seconds=draw(st.integers(0, 25 * 86_400)))
            seconds = 3600 if kind == "hourly" else draw(st.integers(-5, MAX_INTERVAL_SECONDS))
        kwh = Decimal(draw(st.integers(0, 99_999))) / 1000
        rows.append((draw(st.sampled_from((1, 2))), start, seconds, kwh))
    return rows


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES).flatmap(lambda name: st.tuples(st.just(name), readings(ZoneInfo(name)))))
def test_added_up_exactly_as_spread(case: tuple[str, list[tuple[int, datetime, int, Decimal]]]) -> None:
    name, rows = case
    zi = ZoneInfo(name)
    fast: dict[int, _Sums] = {1: {}, 2: {}}
    _add_up(rows, FIRST, END, zi, fast)
    expected = reference(rows, zi)
    assert fast.keys() == expected.keys()
    for device in fast:
        assert {d: (k, s) for d, (k, s) in fast[device].items()} == {
            d: (k, s) for d, (k, s) in expected[device].items()
        }


def series_reference(kwh_by_day: dict[date, Decimal], period: Period) -> tuple[SeriesPoint, ...]:
    """Every day of the period visited in order, its energy added to its day or month."""
    buckets: dict[date, Decimal] = {}
    day = period.first_day
    while day < period.end_day:
        key = day if period.granularity is Granularity.DAY else day.replace(day=1)
        buckets[key] = buckets.get(key, Decimal(0)) + kwh_by_day.get(day, Decimal(0))
        day += timedelta(days=1)
    if period.granularity is Granularity.DAY:
        return tuple(SeriesPoint(f"{d.month}月{d.day}日", _kwh(k)) for d, k in buckets.items())
    return tuple(SeriesPoint(f"{d.month}月", _kwh(k)) for d, k in buckets.items())


@settings(max_examples=200, deadline=None)
@given(
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    st.integers(1, 400),
    st.sampled_from(list(Granularity)),
    st.dictionaries(
        st.dates(date(2023, 12, 1), date(2028, 3, 1)), st.integers(0, 99_999).map(lambda n: Decimal(n) / 1000)
    ),
)
def test_series_points_as_day_by_day(
    first: date, days: int, granularity: Granularity, kwh_by_day: dict[date, Decimal]
) -> None:
    zi = ZoneInfo("Asia/Shanghai")
    end = first + timedelta(days=days)
    period = Period(local_midnight(first, zi), local_midnight(end, zi), "期间", granularity)
    assert _series(kwh_by_day, period) == series_reference(kwh_by_day, period)
