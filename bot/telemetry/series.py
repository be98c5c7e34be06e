"""Read stored readings back as local-day totals (energy and covered time) per device."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TypeCoerce, type_coerce
from sqlalchemy.orm import Mapped
from sqlalchemy.types import NullType
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
    start = col(EnergyReading.start)
    # Columns, not ORM objects, and ``start`` as the driver returns it (``_add_up`` converts each
    # distinct one): a year of a household's readings is thousands of rows, a few hundred starts.
    query = (
        select(
            col(EnergyReading.device_id),
            _as_stored(start),
            col(EnergyReading.seconds),
            col(EnergyReading.kwh),
        )
        .where(col(EnergyReading.device_id).in_(list(device_ids)))
        .where(start > lo - timedelta(seconds=MAX_INTERVAL_SECONDS))
        .where(start < hi)
    )
    if session.autoflush:
        session.flush()  # as a query through the ORM would: a Core statement does not autoflush
    rows = session.connection().execute(query).all()
    sums: dict[int, _Sums] = {d: {} for d in device_ids}
    _add_up(rows, first, end, zi, sums)
    return {d: {day: DayTotal(k, s) for day, (k, s) in days.items()} for d, days in sums.items()}


def _as_stored(column: Mapped[Any]) -> TypeCoerce[Any]:
    """``column`` as the driver returns it, without SQLAlchemy's conversion of every row."""
    return type_coerce(column, NullType())


def _utc(stored: str | datetime) -> datetime:
    """A stored ``start`` as the column type returns it (an aware UTC datetime): SQLite keeps ISO
    text (UTC, without an offset), PostgreSQL's driver returns datetimes."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


class _Days:
    """The local days ``[first, end)`` of a zone, bounded by their midnights in UTC."""

    days: list[date]
    """Every day of ``[first, end]`` (``end`` too: its midnight closes the last day)."""
    bounds: list[datetime]
    """The UTC instant of each day's local midnight."""
    midnights: dict[date, datetime]
    exact: bool
    """Every bound is a local midnight (not one moved by a daylight-saving change at midnight)."""

    def __init__(self, first: date, end: date, zi: ZoneInfo) -> None:
        self.days = [first + timedelta(days=i) for i in range((end - first).days + 1)]
        self.bounds = [local_midnight(day, zi).astimezone(UTC) for day in self.days]
        self.midnights = dict(zip(self.days, self.bounds, strict=True))
        self.exact = all(_is_midnight(b, d, zi) for d, b in self.midnights.items())

    def within(self, start: datetime, seconds: int) -> date | None:
        """The day holding all of ``[start, start + seconds)`` (None: the reading must be spread)."""
        if not self.exact:
            return None
        at = bisect_right(self.bounds, start) - 1
        if 0 <= at < len(self.days) - 1 and start + timedelta(seconds=seconds) <= self.bounds[at + 1]:
            return self.days[at]
        return None


def _is_midnight(bound: datetime, day: date, zi: ZoneInfo) -> bool:
    local = bound.astimezone(zi)
    return local.date() == day and local.hour == 0


def _add_up(
    rows: Iterable[tuple[int, str | datetime, int, Decimal]],
    first: date,
    end: date,
    zi: ZoneInfo,
    sums: dict[int, _Sums],
) -> None:
    """Add each reading ``(device, start, seconds, kwh)`` as stored to its device's days; one that lies
    within one local day of ``[first, end)`` (the usual daily or hourly reading) is added whole, the
    others are spread. Where a reading falls is worked out once per distinct start and length."""
    days = _Days(first, end, zi)
    lo, hi = days.bounds[0], days.bounds[-1]
    placed: dict[tuple[str | datetime, int], date | None] = {}
    for device_id, stored, seconds, kwh in rows:
        if seconds <= 0:
            continue
        key = (stored, seconds)
        if key not in placed:
            placed[key] = days.within(_utc(stored), seconds)
        day = placed[key]
        if day is None:
            _spread((_utc(stored), seconds, kwh), lo, hi, zi, sums[device_id], days.midnights)
            continue
        total = sums[device_id].get(day)
        if total is None:
            sums[device_id][day] = [kwh, seconds]
        else:
            total[0] += kwh
            total[1] += seconds


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
    kwh, seconds = _ZERO, 0
    for day, total in totals.items():
        if first <= day < end:
            kwh += total.kwh
            seconds += total.seconds
    return DayTotal(kwh, seconds)
