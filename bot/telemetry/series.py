"""Read stored readings back as local-day totals (energy and covered time) per device."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
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


def _add(days: dict[date, DayTotal], day: date, kwh: Decimal, seconds: int) -> None:
    old = days.get(day, DayTotal(_ZERO, 0))
    days[day] = DayTotal(old.kwh + kwh, old.seconds + seconds)


def _spread(
    reading: EnergyReading, lo: datetime, hi: datetime, zi: ZoneInfo, days: dict[date, DayTotal]
) -> None:
    """Add ``reading`` to ``days``, split pro rata at local midnights, clipped to ``[lo, hi)``."""
    start = max(reading.start, lo)
    end = min(reading.start + timedelta(seconds=reading.seconds), hi)
    while start < end:
        day = start.astimezone(zi).date()
        cut = min(end, local_midnight(day + timedelta(days=1), zi))
        seconds = int((cut - start).total_seconds())
        _add(days, day, reading.kwh * seconds / reading.seconds, seconds)
        start = cut


def daily_totals(
    session: Session, device_ids: Collection[int], first: date, end: date, zi: ZoneInfo
) -> dict[int, dict[date, DayTotal]]:
    """Local-day totals of each device over the days ``[first, end)``."""
    lo, hi = local_midnight(first, zi), local_midnight(end, zi)
    rows = session.exec(
        select(EnergyReading)
        .where(col(EnergyReading.device_id).in_(list(device_ids)))
        .where(col(EnergyReading.start) > lo - timedelta(seconds=MAX_INTERVAL_SECONDS))
        .where(col(EnergyReading.start) < hi)
    ).all()
    out: dict[int, dict[date, DayTotal]] = {d: {} for d in device_ids}
    for reading in rows:
        if reading.seconds > 0:
            _spread(reading, lo, hi, zi, out[reading.device_id])
    return out


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
