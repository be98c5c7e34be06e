"""Read stored readings back as local-day totals (energy and covered time) per device."""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, Executable, TypeCoerce, extract, func, type_coerce
from sqlalchemy import select as sa_select
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

REMEMBERED_WINDOWS = 16
"""Windows of totals each database's cache keeps (least recently used dropped first)."""

Totals = dict[int, dict[date, DayTotal]]
_Key = tuple[tuple[int, ...], date, date, str]
Signature = tuple[Any, ...]
"""What the readings of a window are: their count, highest id and the sum of each column (start in
seconds since the epoch, energy also weighted by id)."""


class TotalsCache:
    """Totals of recently read windows, kept across sessions (and requests) of one database.

    An answer about this year adds up every reading of the household's devices since January (a
    few thousand rows, most of an energy answer's time), and the devices of a home ask again
    within seconds. Each use is checked against the window's ``Signature``, one aggregate query
    over the same rows (~2 ms against ~10 ms for a year of a home's daily readings).

    Readings are added (ingest, seeds) and deleted (with their device or household), and the demo
    seed scales some down once. An addition or a deletion changes the count or the highest id,
    unless the rows with the highest ids were deleted and as many added (SQLite gives their ids
    again): then the new rows' devices, starts, lengths or energy change a sum. A reading's energy
    changed changes the energy sums.
    """

    def __init__(self, size: int = REMEMBERED_WINDOWS) -> None:
        self._size = size
        self._entries: OrderedDict[_Key, tuple[Signature, Totals]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _Key, signature: Signature) -> Totals | None:
        """The totals remembered for ``key`` if its rows still have ``signature``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != signature:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: _Key, signature: Signature, totals: Totals) -> None:
        """Remember ``totals`` of rows with ``signature``."""
        with self._lock:
            self._entries[key] = (signature, totals)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[Engine, TotalsCache] = weakref.WeakKeyDictionary()
"""One cache per database (engine), gone with it."""


def daily_totals(
    session: Session, device_ids: Collection[int], first: date, end: date, zi: ZoneInfo
) -> Totals:
    """Local-day totals of each device over the days ``[first, end)``.

    Remembered for the session's lifetime (one action or request): an answer and the upgrade plan
    behind it ask for the same devices and days several times; and across sessions in the
    database's ``TotalsCache`` while the window's rows stay the same. Don't mutate the result.
    """
    memo: dict[_Key, Totals] = session.info.setdefault(_MEMO, {})
    key = (tuple(sorted(device_ids)), first, end, zi.key)
    if key not in memo:
        memo[key] = _remembered(session, key, zi)
    return memo[key]


def _remembered(session: Session, key: _Key, zi: ZoneInfo) -> Totals:
    device_ids, first, end, _ = key
    if session.autoflush:
        session.flush()  # as a query through the ORM would: a Core statement does not autoflush
    connection = session.connection()
    cache = _CACHES.get(connection.engine)
    if cache is None:
        cache = _CACHES.setdefault(connection.engine, TotalsCache())
    lo, hi = local_midnight(first, zi), local_midnight(end, zi)
    # The signature first: a reading added between the two queries then leaves the remembered
    # signature older than the totals, so the next use reads again (the other order would not).
    signature = tuple(connection.execute(_signature(device_ids, lo, hi)).one())
    totals = cache.get(key, signature)
    if totals is None:
        rows = connection.execute(_rows(device_ids, lo, hi)).all()
        totals = _daily_totals(rows, device_ids, first, end, zi)
        cache.put(key, signature, totals)
    return totals


def _in_window(device_ids: Collection[int], lo: datetime, hi: datetime) -> tuple[ColumnElement[bool], ...]:
    """Conditions on the readings of ``device_ids`` that may touch ``[lo, hi)``."""
    start = col(EnergyReading.start)
    return (
        col(EnergyReading.device_id).in_(list(device_ids)),
        start > lo - timedelta(seconds=MAX_INTERVAL_SECONDS),
        start < hi,
    )


def _rows(device_ids: Collection[int], lo: datetime, hi: datetime) -> Executable:
    """Device, start as stored, seconds and kWh of the window's readings."""
    # Columns, not ORM objects, and ``start`` as the driver returns it (``_add_up`` converts each
    # distinct one): a year of a household's readings is thousands of rows, a few hundred starts.
    return select(
        col(EnergyReading.device_id),
        _as_stored(col(EnergyReading.start)),
        col(EnergyReading.seconds),
        col(EnergyReading.kwh),
    ).where(*_in_window(device_ids, lo, hi))


def _signature(device_ids: Collection[int], lo: datetime, hi: datetime) -> Executable:
    """The ``Signature`` of the window's readings."""
    return sa_select(
        func.count(),
        func.max(EnergyReading.id),
        func.sum(EnergyReading.device_id),
        func.sum(extract("epoch", col(EnergyReading.start))),
        func.sum(EnergyReading.seconds),
        func.sum(EnergyReading.kwh),
        func.sum(col(EnergyReading.id) * col(EnergyReading.kwh)),
    ).where(*_in_window(device_ids, lo, hi))


def _daily_totals(
    rows: Iterable[tuple[int, str | datetime, int, Decimal]],
    device_ids: Collection[int],
    first: date,
    end: date,
    zi: ZoneInfo,
) -> Totals:
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
