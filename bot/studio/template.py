"""The studio's own sample household for a tenant: an older appliance of each category the tenant sells,
with a year of daily meter readings, so every tenant's designers have a sandbox to talk in whether or
not the tenant has demo households (``docs/designing.md``). Built inside each sandbox, never stored
as a household of its own.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session

from bot.finance.catalog import products
from bot.periods import local_midnight, zone
from bot.store.models import Device, EnergyReading, Tenant

NAME = "样板家庭"
"""The sample household's name (the sandbox copy is called 沙盒·样板家庭)."""
DAYS = 400
"""Days of readings: a full year back plus the same period of the year before."""
AGE_YEARS = 6
"""How old its appliances are (out of warranty: upgrades and trade-ins apply)."""
MAX_DEVICES = 8
DAILY_KWH = {
    "空调": Decimal("3.2"),
    "冰箱": Decimal("1.1"),
    "洗衣机": Decimal("0.5"),
    "热水器": Decimal("2.4"),
    "新风机": Decimal("0.9"),
    "扫地机器人": Decimal("0.05"),
    "空气净化器": Decimal("0.3"),
    "智能门锁": Decimal("0.01"),
    "摄像头": Decimal("0.12"),
    "电视": Decimal("0.45"),
    "洗碗机": Decimal("0.8"),
}
"""Typical daily use of an older appliance (the air conditioner's is its yearly mean)."""
GRADE = 3
"""An older appliance's energy label grade."""


def furnish(session: Session, tenant_id: str, household_id: int, now: datetime) -> int:
    """Add the sample appliances and their readings to ``household_id``; returns how many devices."""
    tenant = session.get(Tenant, tenant_id)
    tz = zone(tenant.timezone if tenant is not None else "Asia/Shanghai")
    today = now.astimezone(tz).date()
    bought = today.replace(year=today.year - AGE_YEARS, day=min(today.day, 28))
    seen: dict[str, str] = {}
    for product in products(session, tenant_id):
        if product.category in DAILY_KWH and product.category not in seen:
            seen[product.category] = product.brand
    for category, brand in list(seen.items())[:MAX_DEVICES]:
        device = Device(
            household_id=household_id,
            category=category,
            name=f"家里的{category}",
            brand=brand,
            model="旧款",
            room="客厅",
            purchased_on=bought,
            warranty_until=bought.replace(year=bought.year + 3),
            energy_grade=GRADE,
            rated_annual_kwh=DAILY_KWH[category] * 365,
        )
        session.add(device)
        session.flush()
        _readings(session, device.id or 0, category, today, tz)
    return len(seen)


def _readings(session: Session, device_id: int, category: str, today: date, tz: ZoneInfo) -> None:
    rows = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        start = local_midnight(day, tz)
        kwh = (DAILY_KWH[category] * _season(category, day)).quantize(Decimal("0.001"))
        rows.append({"device_id": device_id, "start": start, "seconds": 86400, "kwh": kwh})
    session.execute(insert(EnergyReading), rows)


def _season(category: str, day: date) -> Decimal:
    """Air conditioning peaks in July and January; everything else is flat."""
    if category != "空调":
        return Decimal(1)
    swing = abs(math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365))
    return Decimal(str(round(0.3 + 1.4 * swing, 3)))
