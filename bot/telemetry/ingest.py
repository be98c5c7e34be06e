"""Store normalised readings as ``EnergyReading`` rows without ever counting energy twice.

Rules for each reading, checked against what is stored (and what this batch already added):

- unknown device → rejected; with a hub, a device outside the hub's household → the whole payload is
  refused (``ForeignDevice``), with the same words whether the id exists elsewhere or not;
- outside physical bounds (more energy in the interval than the device's rated power allows, or
  than a generous household cap when it has none) → rejected with its reason, the others kept;
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
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.errors import InputError
from bot.periods import DEFAULT_TZ, zone
from bot.progress import Counter, Progress, Report, quiet
from bot.store.db import utcnow
from bot.store.models import Device, EnergyReading
from bot.telemetry.formats import adapter
from bot.telemetry.records import MAX_INTERVAL_SECONDS, ReadingIn, Rejected

PARSE_STAGE, STORE_STAGE = "解析读数", "写入读数"
"""Progress stages of an import; parsing is the first :data:`PARSED` of the run."""
PARSED = 0.2


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


class ForeignDevice(InputError):
    """A hub named a device that is not one of its household's: nothing of the payload is stored."""

    code = "device_not_in_household"
    status = 403


def import_payload(
    session: Session,
    format_name: str,
    payload: str,
    *,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
    household_id: int | None = None,
    report: Report = quiet,
) -> IngestReport:
    """Parse ``payload`` with the named adapter and store its readings in ``session``.

    ``household_id``: the household of the hub that sent it; every reading must be of its devices.
    ``report`` hears the stages (parsing, then the readings stored).
    """
    report(Progress(PARSE_STAGE, 0.0, format_name))
    parsed = adapter(format_name).parse(payload, now=now or utcnow(), tz=zone(tz))
    if household_id is not None:
        _check_household(session, household_id, parsed.readings)
    stored, skipped, refused = store_readings(session, parsed.readings, report)
    rejected = sorted((*parsed.rejected, *refused), key=lambda r: r.index)
    return IngestReport(format_name, stored, skipped + parsed.duplicates, tuple(rejected))


def store_readings(
    session: Session, readings: Sequence[ReadingIn], report: Report = quiet
) -> tuple[int, int, list[Rejected]]:
    """Add new readings to ``session``; return (stored, skipped, rejected). The caller commits."""
    known = _known_devices(session, {r.device_id for r in readings})
    stored, skipped = 0, 0
    rejected: list[Rejected] = []
    done = Counter(report, STORE_STAGE, len(readings), span=(PARSED, 1.0))
    done.start()
    for reading in readings:
        done.step()
        device = known.get(reading.device_id)
        if device is None:
            rejected.append(Rejected(reading.index, reading.where, f"unknown device {reading.device_id}"))
            continue
        if reason := _beyond_bounds(device, reading):
            rejected.append(Rejected(reading.index, reading.where, reason))
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


def _check_household(session: Session, household_id: int, readings: Sequence[ReadingIn]) -> None:
    ids = {r.device_id for r in readings}
    if not ids:
        return
    own = session.exec(
        select(Device.id).where(col(Device.id).in_(ids), Device.household_id == household_id)
    ).all()
    foreign = sorted(ids - {i for i in own if i is not None})
    if foreign:
        listed = ", ".join(str(i) for i in foreign[:5])
        raise ForeignDevice(
            f"设备 {listed} 不是本网关所在家庭的设备，整批数据未保存", code=ForeignDevice.code, status=403
        )


def _known_devices(session: Session, ids: set[int]) -> dict[int, Device]:
    if not ids:
        return {}
    found = session.exec(select(Device).where(col(Device.id).in_(ids))).all()
    return {d.id: d for d in found if d.id is not None}


HOUSEHOLD_CAP_W = 30_000
"""Highest average power a device without a rated power may draw (a whole home's connection)."""
RATED_HEADROOM = Decimal(2)
"""A device may draw up to this many times its rated power over an interval (start-up, defrost)."""


def physical_limit(device: Device, seconds: int) -> Decimal:
    """Most kWh ``device`` can use in ``seconds``."""
    watts = (
        Decimal(device.rated_power_w) * RATED_HEADROOM if device.rated_power_w else Decimal(HOUSEHOLD_CAP_W)
    )
    return (watts * seconds / Decimal(3_600_000)).quantize(Decimal("0.001")) + Decimal("0.001")


def _beyond_bounds(device: Device, reading: ReadingIn) -> str | None:
    if reading.kwh > physical_limit(device, reading.seconds):
        return (
            f"{reading.kwh} kWh in {reading.seconds} s is more than this device can use "
            "(check the unit: Wh or kWh); not stored"
        )
    return None


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
            return "conflicts with the reading already stored for this interval; stored value kept"
        if other.start + timedelta(seconds=other.seconds) > reading.start:
            return "overlaps a reading already stored for this device; would count twice"
    return None


def _row(reading: ReadingIn) -> EnergyReading:
    return EnergyReading(
        device_id=reading.device_id, start=reading.start, seconds=reading.seconds, kwh=reading.kwh
    )
