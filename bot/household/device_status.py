"""A household's own devices: age, warranty status and recent faults (a plain answer, no offer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import NotFoundError
from bot.finance.aftercare import age_in_years
from bot.store.models import Device, FaultEvent

RECENT_FAULTS = timedelta(days=90)
"""Faults within this window count as recent."""
FAULT_HISTORY = timedelta(days=365)
"""Window the warranty loading counts faults over (12 months)."""


@dataclass(frozen=True)
class Fault:
    """One reported fault."""

    occurred_on: date
    code: str
    description: str
    resolved: bool


@dataclass(frozen=True)
class DeviceStatus:
    """Age, warranty and faults of one device."""

    device_id: int
    name: str
    category: str
    brand: str
    model: str
    purchased_on: date
    age_years: int
    warranty_until: date
    in_warranty: bool
    recent_faults: tuple[Fault, ...]
    faults_last_year: int


def statuses(
    session: Session, household_id: int, now: datetime, device_type: str | None = None
) -> list[DeviceStatus]:
    """Status of the household's devices (of one category); NotFoundError when it has none."""
    query = select(Device).where(Device.household_id == household_id)
    if device_type is not None:
        query = query.where(Device.category == device_type)
    devices = list(session.exec(query.order_by(col(Device.id))).all())
    if not devices:
        raise NotFoundError(f"家里没有{device_type or '设备'}", code="no_such_device")
    return [_status(session, d, now) for d in devices if d.id is not None]


def _status(session: Session, device: Device, now: datetime) -> DeviceStatus:
    faults = session.exec(
        select(FaultEvent)
        .where(FaultEvent.device_id == device.id, FaultEvent.occurred_at >= now - FAULT_HISTORY)
        .order_by(col(FaultEvent.occurred_at).desc())
    ).all()
    today = now.date()
    recent = tuple(
        Fault(_aware(f.occurred_at, now).date(), f.code, f.description, f.resolved)
        for f in faults
        if _aware(f.occurred_at, now) >= now - RECENT_FAULTS
    )
    return DeviceStatus(
        device_id=device.id or 0,
        name=device.name,
        category=device.category,
        brand=device.brand,
        model=device.model,
        purchased_on=device.purchased_on,
        age_years=age_in_years(device.purchased_on, today),
        warranty_until=device.warranty_until,
        in_warranty=device.warranty_until >= today,
        recent_faults=recent,
        faults_last_year=len(faults),
    )


def _aware(at: datetime, now: datetime) -> datetime:
    """SQLite returns naive UTC datetimes: give them ``now``'s zone."""
    return at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)


def spoken_date(day: date) -> str:
    """A date as it is read out: 2023年10月12日."""
    return f"{day.year}年{day.month}月{day.day}日"


def status_card(items: list[DeviceStatus]) -> dict[str, Any]:
    """The ``device_status`` card: one row per device."""
    return {
        "type": "device_status",
        "title": items[0].category if len({i.category for i in items}) == 1 else "",
        "devices": [
            {
                "device_id": s.device_id,
                "name": s.name,
                "brand": s.brand,
                "model": s.model,
                "purchased_on": s.purchased_on.isoformat(),
                "age_years": s.age_years,
                "warranty_until": s.warranty_until.isoformat(),
                "in_warranty": s.in_warranty,
                "faults_last_year": s.faults_last_year,
                "recent_faults": [
                    {
                        "date": f.occurred_on.isoformat(),
                        "code": f.code,
                        "description": f.description,
                        "resolved": f.resolved,
                    }
                    for f in s.recent_faults
                ],
            }
            for s in items
        ],
        "suggestions": ["能买延保吗", "能以旧换新吗"],
    }
