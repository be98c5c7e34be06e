"""Demo appliance changes: 张家 replaced its electric water heater with a heat-pump (空气能) one 130 days
ago — it uses about a third of the electricity (heat pumps deliver ~3 kWh of heat per kWh) — and its
washing machine 75 days ago (40 % less). The settled months since have earned green points through the
real accrual job: enough to redeem a maintenance service (the cheapest costs 990 points), the rule's
10 points per kWh saved measured against each appliance's own 30 days before the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.household.accrual import accrue_month
from bot.periods import local_midnight
from bot.store.everyday import DeviceChange
from bot.store.models import Device, EnergyReading, Household


@dataclass(frozen=True)
class UpgradeSpec:
    """One demo appliance change."""

    household: str
    device: str
    days_ago: int
    factor: Decimal
    """The new appliance's use as a share of the old one's."""
    note: str


DEMO_UPGRADES = (
    UpgradeSpec("张家", "洗衣机", 75, Decimal("0.6"), "换新一级能效洗衣机"),
    UpgradeSpec("张家", "电热水器", 130, Decimal("0.35"), "换空气能热水器"),
)


def seed_upgrades(session: Session, tenant_id: str, now: datetime, tz: ZoneInfo) -> int:
    """Record the changes (once; readings since the change scaled to the new appliance), then credit
    every settled month since; returns the changes added."""
    added = 0
    today = now.astimezone(tz).date()
    for spec in DEMO_UPGRADES:
        device = session.exec(
            select(Device)
            .join(Household, col(Household.id) == col(Device.household_id))
            .where(
                Household.tenant_id == tenant_id, Household.name == spec.household, Device.name == spec.device
            )
        ).first()
        if device is None or device.id is None:
            continue
        if session.exec(select(DeviceChange).where(DeviceChange.device_id == device.id)).first() is not None:
            continue
        changed_on = today - timedelta(days=spec.days_ago)
        session.add(
            DeviceChange(
                household_id=device.household_id, device_id=device.id, changed_on=changed_on, note=spec.note
            )
        )
        since = session.exec(
            select(EnergyReading).where(
                EnergyReading.device_id == device.id,
                col(EnergyReading.start) >= local_midnight(changed_on, tz),
            )
        ).all()
        for reading in since:
            reading.kwh = (reading.kwh * spec.factor).quantize(Decimal("0.001"))
            session.add(reading)
        session.flush()
        added += 1
    month = (today - timedelta(days=max((s.days_ago for s in DEMO_UPGRADES), default=0))).replace(day=1)
    while month < today.replace(day=1):
        accrue_month(session, month, now)
        month = (month + timedelta(days=32)).replace(day=1)
    return added
