"""Local-day totals: readings within one local day are added whole (the fast path), exactly as the
general pro-rata spreading adds them, in zones with and without daylight saving, whatever form the
driver returns starts in; totals read from the database equal those of the ORM-loaded readings; a
period's series points add up exactly as visiting every day of the period did; totals remembered across
sessions are used only while the window's readings are the same."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.energy.usage import SeriesPoint, _kwh, _series
from bot.periods import Granularity, Period, local_midnight
from bot.store.db import make_engine
from bot.store.models import EnergyReading
from bot.store.tables import metadata
from bot.telemetry.records import MAX_INTERVAL_SECONDS
from bot.telemetry.series import DayTotal, Totals, TotalsCache, _add_up, _spread, _Sums, daily_totals
from tests.factories import add_device, add_household

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Asia/Beirut")
FIRST = date(2025, 3, 20)
END = date(2025, 4, 12)
Row = tuple[int, datetime, int, Decimal]
Drawn = tuple[int, datetime, int, Decimal, str]
"""A row and the form its start is stored in (see ``stored``)."""


def stored(start: datetime, form: str) -> str | datetime:
    """``start`` as a driver returns it: SQLite's text (UTC, no offset), or a datetime in UTC or in
    the connection's zone (PostgreSQL)."""
    if form == "text":
        return start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return start.astimezone(ZoneInfo("America/New_York")) if form == "zoned" else start


def reference(
    rows: list[Row], zi: ZoneInfo, first: date = FIRST, end: date = END, devices: tuple[int, ...] = (1, 2)
) -> dict[int, _Sums]:
    """Every reading spread pro rata at local midnights (the general path for all rows)."""
    sums: dict[int, _Sums] = {d: {} for d in devices}
    lo, hi = local_midnight(first, zi), local_midnight(end, zi)
    midnights: dict[date, datetime] = {}
    for device_id, start, seconds, kwh in rows:
        if seconds > 0:
            _spread((start, seconds, kwh), lo, hi, zi, sums[device_id], midnights)
    return sums


@st.composite
def readings(draw: st.DrawFn, zi: ZoneInfo) -> list[Drawn]:
    """Daily readings at local midnight, hourly ones, odd lengths (and odd microseconds), some across
    midnight or the ends, some starting with an earlier one (of the other device, or of this one
    again: a start has no single length); each with the form its start is stored in."""
    rows: list[Drawn] = []
    base = local_midnight(FIRST - timedelta(days=1), zi).astimezone(UTC)
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(
            st.sampled_from(("daily", "hourly", "odd", "again") if rows else ("daily", "hourly", "odd"))
        )
        if kind == "again":
            start = draw(st.sampled_from(rows))[1]
            seconds = draw(st.sampled_from((3600, 86_400, draw(st.integers(-5, MAX_INTERVAL_SECONDS)))))
        elif kind == "daily":
            day = FIRST + timedelta(days=draw(st.integers(-1, 23)))
            start = local_midnight(day, zi).astimezone(UTC)
            length = local_midnight(day + timedelta(days=1), zi) - local_midnight(day, zi)
            seconds = int(length.total_seconds())
        else:
            start = base + timedelta(seconds=draw(st.integers(0, 25 * 86_400)))
            seconds = 3600 if kind == "hourly" else draw(st.integers(-5, MAX_INTERVAL_SECONDS))
            if kind == "odd":
                start += timedelta(microseconds=draw(st.sampled_from((0, 1, 999_999))))
        kwh = Decimal(draw(st.integers(0, 99_999))) / 1000
        form = draw(st.sampled_from(("datetime", "text", "zoned")))
        rows.append((draw(st.sampled_from((1, 2))), start, seconds, kwh, form))
    return rows


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES).flatmap(lambda name: st.tuples(st.just(name), readings(ZoneInfo(name)))))
def test_added_up_exactly_as_spread(case: tuple[str, list[Drawn]]) -> None:
    name, drawn = case
    zi = ZoneInfo(name)
    fast: dict[int, _Sums] = {1: {}, 2: {}}
    _add_up([(d, stored(start, form), s, k) for d, start, s, k, form in drawn], FIRST, END, zi, fast)
    expected = reference([(d, start.astimezone(UTC), s, k) for d, start, s, k, _ in drawn], zi)
    assert fast.keys() == expected.keys()
    for device in fast:
        assert {d: (k, s) for d, (k, s) in fast[device].items()} == {
            d: (k, s) for d, (k, s) in expected[device].items()
        }


@pytest.mark.parametrize("name", ZONES)
def test_totals_read_from_the_database_as_from_the_orm(session: Session, name: str) -> None:
    zi = ZoneInfo(name)
    household = add_household(session)
    ids = tuple(add_device(session, household, f"空调{i}") for i in range(3))
    rng = random.Random(name)
    starts: set[tuple[int, datetime]] = set()
    for day in range(-2, (END - FIRST).days + 2):
        midnight = local_midnight(FIRST + timedelta(days=day), zi)
        for device in ids:
            starts.add((device, midnight))  # daily, stored as the UTC instant of a local midnight
            odd = midnight + timedelta(seconds=rng.randrange(86_400), microseconds=rng.choice((0, 7)))
            starts.add((device, odd))
    for device, start in sorted(starts):
        seconds = rng.choice((0, 3600, 86_400, rng.randrange(1, MAX_INTERVAL_SECONDS)))
        kwh = Decimal(rng.randrange(0, 20_000)) / 1000
        session.add(EnergyReading(device_id=device, start=start, seconds=seconds, kwh=kwh))
    # Not flushed: the totals see them as a query through the ORM would (autoflush).
    totals = daily_totals(session, ids, FIRST, END, zi)
    session.expire_all()  # the readings as the ORM loads them back
    loaded = session.exec(select(EnergyReading).where(col(EnergyReading.device_id).in_(ids))).all()
    rows = [(r.device_id, r.start, r.seconds, r.kwh) for r in loaded]
    expected = reference(rows, zi, FIRST, END, ids)
    assert totals == {
        d: {day: DayTotal(k, s) for day, (k, s) in days.items()} for d, days in expected.items()
    }


def fresh_totals(engine: Engine, ids: tuple[int, ...], zi: ZoneInfo) -> tuple[Totals, Totals]:
    """``daily_totals`` in a new session, and the totals of the readings the ORM loads there."""
    with Session(engine) as session:
        totals = daily_totals(session, ids, FIRST, END, zi)
        loaded = session.exec(select(EnergyReading).where(col(EnergyReading.device_id).in_(ids))).all()
        rows = [(r.device_id, r.start, r.seconds, r.kwh) for r in loaded]
    expected = reference(rows, zi, FIRST, END, ids)
    return totals, {d: {day: DayTotal(k, s) for day, (k, s) in days.items()} for d, days in expected.items()}


Change = tuple[str, int, int, int, int]
"""What is done to the readings between two reads: (kind, device, day, hour, kWh in Wh)."""


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.lists(
        st.tuples(
            st.sampled_from(("add", "add", "drop_newest", "drop_oldest", "moved", "scale", "none")),
            st.integers(0, 1),
            st.integers(-2, 24),
            st.integers(0, 23),
            st.integers(0, 9_999),
        ),
        max_size=12,
    ),
)
def test_remembered_totals_follow_every_change_of_the_readings(name: str, changes: list[Change]) -> None:
    """Backfilled days, deleted readings, the newest moved (deleted, and one like it added at another
    start: SQLite gives it the same id), energy scaled: each read equals the totals read afresh."""
    zi = ZoneInfo(name)
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        household = add_household(session)
        ids = (add_device(session, household, "空调"), add_device(session, household, "冰箱"))
        for day in range(0, (END - FIRST).days, 3):
            for device in ids:
                start = local_midnight(FIRST + timedelta(days=day), zi)
                session.add(EnergyReading(device_id=device, start=start, seconds=3600, kwh=Decimal("1.5")))
        session.commit()
    previous, expected = fresh_totals(engine, ids, zi)
    assert previous == expected
    for kind, device, day, hour, wh in changes:
        with Session(engine) as session:
            readings = session.exec(select(EnergyReading).order_by(col(EnergyReading.id))).all()
            start = local_midnight(FIRST + timedelta(days=day), zi) + timedelta(hours=hour, seconds=wh % 7)
            new = EnergyReading(device_id=ids[device], start=start, seconds=3600, kwh=Decimal(wh) / 1000)
            if kind == "moved" and readings:  # the newest deleted, one like it added at another start
                newest = readings[-1]
                session.delete(newest)
                session.flush()
                new.device_id, new.seconds, new.kwh = newest.device_id, newest.seconds, newest.kwh
            elif kind.startswith("drop") and readings:
                session.delete(readings[-1] if kind == "drop_newest" else readings[0])
            elif kind == "scale" and readings:
                readings[wh % len(readings)].kwh += Decimal("0.001")
            taken = {(r.device_id, r.start) for r in readings}
            if kind in ("add", "moved") and (new.device_id, start) not in taken:
                session.add(new)
            session.commit()
        totals, expected = fresh_totals(engine, ids, zi)
        assert totals == expected
        if kind == "none":
            assert totals is previous  # nothing changed: the remembered totals were used
        previous = totals
    engine.dispose()


def test_each_database_remembers_its_own_totals() -> None:
    """Two databases with the same device ids and as many readings, on different days."""
    zi = ZoneInfo("Asia/Shanghai")
    engines = [make_engine("sqlite://") for _ in range(2)]
    for n, engine in enumerate(engines):
        metadata.create_all(engine)
        with Session(engine) as session:
            household = add_household(session)
            device = add_device(session, household)
            start = local_midnight(FIRST + timedelta(days=n), zi)
            session.add(EnergyReading(device_id=device, start=start, seconds=3600, kwh=Decimal(1)))
            session.commit()
    for _ in range(2):
        for n, engine in enumerate(engines):
            totals, expected = fresh_totals(engine, (1,), zi)
            assert totals == expected
            assert list(totals[1]) == [FIRST + timedelta(days=n)]
    for engine in engines:
        engine.dispose()


def test_the_least_recently_used_window_is_forgotten() -> None:
    cache = TotalsCache(size=2)
    keys = [((1,), FIRST + timedelta(days=n), END, "Asia/Shanghai") for n in range(3)]
    tables: list[Totals] = [{1: {}}, {2: {}}, {3: {}}]
    cache.put(keys[0], (1,), tables[0])
    cache.put(keys[1], (1,), tables[1])
    assert cache.get(keys[0], (1,)) is tables[0]  # now the most recently used
    assert cache.get(keys[0], (2,)) is None  # its rows changed
    cache.put(keys[2], (1,), tables[2])
    assert cache.get(keys[1], (1,)) is None
    assert cache.get(keys[0], (1,)) is tables[0]
    assert cache.get(keys[2], (1,)) is tables[2]


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
