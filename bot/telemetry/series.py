"""Read stored readings back as local-day totals (energy and covered time) per device."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.periods import local_midnight
from bot.store.models import EnergyReading
from bot.telemetry.records import MAX_INTERVAL_SECONDS

_ZERO = Decimal(0)


@dataclass(frozen=True)
class DayTotal:
    """Energy of one device on one local day and how much of the day the readings covered."""

    kwh: Decimal
    seconds: int


_Sums = dict[date, list[Any]]
"""Running ``[kwh, seconds]`` per local day (mutable while a query's rows are added up)."""


def _spread(
    reading: tuple[datetime, int, Decimal],
    lo: datetime,
    hi: datetime,
    zi: ZoneInfo,
    days: _Sums,
    midnights: dict[date, datetime],
) -> None:
    """Add ``(start, seconds, kwh)`` to ``days``, split pro rata at local midnights, clipped to [lo, hi)."""
    begin, length, kwh = reading
    start = max(begin, lo)
    end = min(begin + timedelta(seconds=length), hi)
    while start < end:
        day = start.astimezone(zi).date()
        following = day + timedelta(days=1)
        midnight = midnights.get(following)
        if midnight is None:
            midnight = midnights[following] = local_midnight(following, zi)
        cut = min(end, midnight)
        seconds = int((cut - start).total_seconds())
        sums = days.get(day)
        if sums is None:
            sums = days[day] = [_ZERO, 0]
        sums[0] += kwh if seconds == length else kwh * seconds / length
        sums[1] += seconds
        start = cut


_MEMO = "bot.telemetry.series.daily_totals"
"""Key of the per-session memo in ``Session.info``."""


def daily_totals(
    session: Session, device_ids: Collection[int], first: date, end: date, zi: ZoneInfo
) -> dict[int, dict[date, DayTotal]]:
    """Local-day totals of each device over the days ``[first, end)``.

    Remembered for the session's lifetime (one action or request): an answer and the upgrade plan
    behind it ask for the same devices and days several times. Don't mutate the result.
    """
    memo: dict[tuple[object, ...], dict[int, dict[date, DayTotal]]] = session.info.setdefault(_MEMO, {})
    key = (tuple(sorted(device_ids)), first, end, zi.key)
    if key not in memo:
        memo[key] = _daily_totals(session, device_ids, first, end, zi)
    return memo[key]


def _daily_totals(
    session: Session, device_ids: Collection[int], first: date, end: date, zi: ZoneInfo
) -> dict[int, dict[date, DayTotal]]:
    lo, hi = local_midnight(first, zi), local_midnight(end, zi)
    # Columns, not ORM objects: a year of readings is tens of thousands of rows per household.
    rows = session.exec(
        select(
            col(EnergyReading.device_id),
            col(EnergyReading.start),
            col(EnergyReading.seconds),
            col(EnergyReading.kwh),
        )
        .where(col(EnergyReading.device_id).in_(list(device_ids)))
        .where(col(EnergyReading.start) > lo - timedelta(seconds=MAX_INTERVAL_SECONDS))
        .where(col(EnergyReading.start) < hi)
    ).all()
    sums: dict[int, _Sums] = {d: {} for d in device_ids}
    _add_up(rows, first, end, zi, sums)
    return {d: {day: DayTotal(k, s) for day, (k, s) in days.items()} for d, days in sums.items()}


def _add_up(
    rows: Sequence[tuple[int, datetime, int, Decimal]],
    first: date,
    end: date,
    zi: ZoneInfo,
    sums: dict[int, _Sums],
) -> None:
    """Add each reading to its device's days; one that lies within one local day of ``[first, end)``
    (the usual daily or hourly reading) is added whole, found by bisection, the others are spread."""
    days = [first + timedelta(days=i) for i in range((end - first).days + 1)]
    bounds = [local_midnight(day, zi).astimezone(UTC) for day in days]
    midnights = dict(zip(days, bounds, strict=True))
    lo, hi = bounds[0], bounds[-1]
    exact = all(b.astimezone(zi).date() == d and b.astimezone(zi).hour == 0 for d, b in midnights.items())
    for device_id, start, seconds, kwh in rows:
        if seconds <= 0:
            continue
        at = bisect_right(bounds, start) - 1
        if exact and 0 <= at < len(days) - 1 and start + timedelta(seconds=seconds) <= bounds[at + 1]:
            total = sums[device_id].get(days[at])
            if total is None:
                sums[device_id][days[at]] = [kwh, seconds]
            else:
                total[0] += kwh
                total[1] += seconds
        else:
            _spread((start, seconds, kwh), lo, hi, zi, sums[device_id], midnights)


def kwh_by_day(totals: Mapping[date, DayTotal]) -> dict[date, Decimal]:
    """Just the energy of each day."""
    return {day: total.kwh for day, total in totals.items()}


def summed(per_device: Mapping[int, Mapping[date, DayTotal]]) -> dict[date, Decimal]:
    """Energy of each day summed over devices (the household's use)."""
    out: dict[date, Decimal] = {}
    for days in per_device.values():
        for day, total in days.items():
            out[day] = out.get(day, _ZERO) + total.kwh
    return out


def window(totals: Mapping[date, DayTotal], first: date, end: date) -> DayTotal:
    """Sum of the days in ``[first, end)``."""
    inside = [t for d, t in totals.items() if first <= d < end]
    return DayTotal(sum((t.kwh for t in inside), _ZERO), sum(t.seconds for t in inside))
