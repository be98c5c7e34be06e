"""Store normalised readings as ``EnergyReading`` rows without ever counting energy twice.

Rules for each reading, checked against what is stored (and what this batch already added):

- unknown device → rejected;
- same device and start, same length and kWh → skipped (a re-sent batch is harmless);
- same device and start but a different length or kWh → **rejected, the stored value is kept**.
  Readings already feed bills, savings and green points, so a silent replacement would change
  figures people were told; a correction is an operator's deliberate act (delete, then import);
- an interval that overlaps a stored interval of the device with a different start (e.g. an hourly
  batch re-sent as 15-minute intervals) → rejected, since storing it would count that time twice.

``UNIQUE(device_id, start)`` backs the first rule against concurrent writers: a race surfaces as a
``StoreError`` when the caller's transaction commits, and re-running the import is then safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.periods import DEFAULT_TZ, zone
from bot.store.db import utcnow
from bot.store.models import Device, EnergyReading
from bot.telemetry.formats import adapter
from bot.telemetry.records import MAX_INTERVAL_SECONDS, ReadingIn, Rejected


@dataclass(frozen=True)
class IngestReport:
    """Outcome of importing one payload."""

    format: str
    stored: int
    """New readings written."""
    skipped: int
    """Readings already stored identically, plus identical repeats inside the payload."""
    rejected: tuple[Rejected, ...]
    """Records not stored, in file order, each with its reason."""


def import_payload(
    session: Session,
    format_name: str,
    payload: str,
    *,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
) -> IngestReport:
    """Parse ``payload`` with the named adapter and store its readings in ``session``."""
    parsed = adapter(format_name).parse(payload, now=now or utcnow(), tz=zone(tz))
    stored, skipped, refused = store_readings(session, parsed.readings)
    rejected = sorted((*parsed.rejected, *refused), key=lambda r: r.index)
    return IngestReport(format_name, stored, skipped + parsed.duplicates, tuple(rejected))


def store_readings(session: Session, readings: Sequence[ReadingIn]) -> tuple[int, int, list[Rejected]]:
    """Add new readings to ``session``; return (stored, skipped, rejected). The caller commits."""
    known = _known_devices(session, {r.device_id for r in readings})
    stored, skipped = 0, 0
    rejected: list[Rejected] = []
    for reading in readings:
        if reading.device_id not in known:
            rejected.append(Rejected(reading.index, reading.where, f"unknown device {reading.device_id}"))
            continue
        nearby = _nearby(session, reading)
        if any(_identical(other, reading) for other in nearby):
            skipped += 1
        elif reason := _clash(nearby, reading):
            rejected.append(Rejected(reading.index, reading.where, reason))
        else:
            session.add(_row(reading))
            session.flush()
            stored += 1
    return stored, skipped, rejected


def _known_devices(session: Session, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    found = session.exec(select(Device.id).where(col(Device.id).in_(ids))).all()
    return {i for i in found if i is not None}


def _nearby(session: Session, reading: ReadingIn) -> Sequence[EnergyReading]:
    """Stored readings of the device that could overlap ``reading``."""
    earliest = reading.start - timedelta(seconds=MAX_INTERVAL_SECONDS)
    return session.exec(
        select(EnergyReading)
        .where(EnergyReading.device_id == reading.device_id)
        .where(col(EnergyReading.start) > earliest, col(EnergyReading.start) < reading.end)
    ).all()


def _identical(other: EnergyReading, reading: ReadingIn) -> bool:
    return (other.start, other.seconds, other.kwh) == (reading.start, reading.seconds, reading.kwh)


def _clash(nearby: Sequence[EnergyReading], reading: ReadingIn) -> str | None:
    """Why ``reading`` cannot be stored next to ``nearby``, or None."""
    for other in nearby:
        if other.start == reading.start:
            return (
                f"conflicts with the stored reading for this interval ({other.kwh} kWh over "
                f"{other.seconds} s, new {reading.kwh} kWh over {reading.seconds} s); "
                "stored value kept"
            )
        if other.start + timedelta(seconds=other.seconds) > reading.start:
            return f"overlaps the stored reading starting {other.start.isoformat()}; would count twice"
    return None


def _row(reading: ReadingIn) -> EnergyReading:
    return EnergyReading(
        device_id=reading.device_id, start=reading.start, seconds=reading.seconds, kwh=reading.kwh
    )
