"""Demo seed: the two demo tenants (``demo``, ``zhijia``) and their households with a year of daily
readings (idempotent)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.errors import StoreError
from bot.finance.catalog_io import import_catalog
from bot.household.consent import NOTICE_VERSION
from bot.progress import Counter, Report, quiet
from bot.seed.profiles import DEMO_HOUSEHOLDS, DeviceSpec, HouseholdSpec
from bot.seed.tenants import (
    ADMIN_TOKENS,
    ZHIJIA_HOUSEHOLDS,
    ZHIJIA_TENANT_ID,
    packaged_catalog,
    packaged_tenant_config,
)
from bot.seed.upgrades import seed_upgrades
from bot.store.db import session_scope
from bot.store.ledger import PointsRule
from bot.store.models import ConsentEvent, Device, EnergyReading, FaultEvent, Household, Tenant, TokenRole
from bot.store.repo import issue_token
from bot.tenants.config import apply_tenant_config

_LOGGER = logging.getLogger(__name__)
STAGE = "演示数据"
"""The progress stage of the demo seed."""
_Row = TypeVar("_Row", Tenant, Household, Device)

DEMO_TENANT_ID = "demo"


def demo_tenant() -> Tenant:
    """A fresh (unsaved) row for the demo manufacturer."""
    return Tenant(
        id=DEMO_TENANT_ID,
        name="小居智能家电（演示）",
        brand="小居",
        assistant_name="小居",
        timezone="Asia/Shanghai",
        tariff_region="beijing",
        tariff_yuan_per_kwh=Decimal("0.4883"),
    )


DESIGNER_TOKEN = "demo-designer"
POINTS_RULE = "kwh10"
"""Green points: 10 points per kWh saved against the device's own baseline (10 points = 1 元)."""


@dataclass(frozen=True)
class SeedReport:
    """What one seed run added."""

    households: int
    devices: int
    readings_added: int
    tokens: tuple[str, ...]


def seed_demo(
    engine: Engine,
    now: datetime,
    days: int = 365,
    partner_port: int | None = None,
    report: Report = quiet,
) -> SeedReport:
    """Create the demo tenant, households, devices, tokens, consents and readings that are missing
    (``partner_port``: where the demo partner simulator listens; ``report`` hears the devices done:
    a year of readings each)."""
    devices = Counter(report, STAGE, sum(len(s.devices) for s in (*DEMO_HOUSEHOLDS, *ZHIJIA_HOUSEHOLDS)))
    devices.start()
    with session_scope(engine) as session:
        tenant = apply_tenant_config(session, packaged_tenant_config(DEMO_TENANT_ID, partner_port))
        issue_token(session, DESIGNER_TOKEN, TokenRole.DESIGNER, tenant.id, None, "designer", now)
        import_catalog(session, tenant.id, packaged_catalog(DEMO_TENANT_ID))
        _points_rule(session, tenant.id)
        added = 0
        tokens = [DESIGNER_TOKEN]
        n_devices = 0
        for spec in DEMO_HOUSEHOLDS:
            household = _household(session, tenant, spec, now)
            for dspec in spec.devices:
                device = _device(session, household, dspec)
                n_devices += 1
                if dspec.token:
                    issue_token(
                        session,
                        dspec.token,
                        TokenRole.DEVICE,
                        tenant.id,
                        device.id,
                        dspec.name,
                        now,
                    )
                    tokens.append(dspec.token)
                _faults(session, device, dspec, now)
                added += _readings(session, device, spec, dspec, now, days, ZoneInfo(tenant.timezone))
                devices.step()
        seed_upgrades(session, tenant.id, now, ZoneInfo(tenant.timezone))
        other = _second_tenant(session, now, days, partner_port, devices)
        tokens += [*_admin_tokens(session, now), *other.tokens]
    _LOGGER.info("demo seed added %d readings", added + other.readings_added)
    households = len(DEMO_HOUSEHOLDS) + other.households
    return SeedReport(households, n_devices + other.devices, added + other.readings_added, tuple(tokens))


def _second_tenant(
    session: Session, now: datetime, days: int, partner_port: int | None, devices: Counter
) -> SeedReport:
    """The smart-home tenant 智家 (``zhijia``): configuration, catalog and the 王家 household."""
    tenant = apply_tenant_config(session, packaged_tenant_config(ZHIJIA_TENANT_ID, partner_port))
    import_catalog(session, tenant.id, packaged_catalog(tenant.id))
    added = sum(seed_household(session, tenant, spec, now, days, devices) for spec in ZHIJIA_HOUSEHOLDS)
    tokens = tuple(d.token for spec in ZHIJIA_HOUSEHOLDS for d in spec.devices if d.token)
    count = sum(len(spec.devices) for spec in ZHIJIA_HOUSEHOLDS)
    return SeedReport(len(ZHIJIA_HOUSEHOLDS), count, added, tokens)


def _admin_tokens(session: Session, now: datetime) -> list[str]:
    """The manufacturer admin token of each demo tenant."""
    for tenant_id, token in ADMIN_TOKENS.items():
        issue_token(session, token, TokenRole.ADMIN, tenant_id, None, "admin", now)
    return list(ADMIN_TOKENS.values())


def seed_household(
    session: Session,
    tenant: Tenant,
    spec: HouseholdSpec,
    now: datetime,
    days: int,
    devices: Counter | None = None,
) -> int:
    """One household of ``spec`` with its devices, tokens, faults and readings (what is missing).

    Returns the number of readings added; used by synthetic seeds (``bot.testing.seed_load``).
    """
    household = _household(session, tenant, spec, now)
    added = 0
    for dspec in spec.devices:
        device = _device(session, household, dspec)
        if dspec.token:
            issue_token(session, dspec.token, TokenRole.DEVICE, tenant.id, device.id, dspec.name, now)
        _faults(session, device, dspec, now)
        added += _readings(session, device, spec, dspec, now, days, ZoneInfo(tenant.timezone))
        if devices is not None:
            devices.step()
    return added


def _add(session: Session, row: _Row) -> _Row:
    session.add(row)
    session.flush()
    return row


def _pk(row: Household | Device) -> int:
    """The primary key of a flushed row."""
    if row.id is None:
        raise StoreError("row has no id after flush", code="seed_failed")
    return row.id


def _points_rule(session: Session, tenant_id: str) -> None:
    exists = session.exec(
        select(PointsRule).where(PointsRule.tenant_id == tenant_id, PointsRule.code == POINTS_RULE)
    ).first()
    if exists is None:
        session.add(
            PointsRule(
                tenant_id=tenant_id,
                code=POINTS_RULE,
                name="每节省1度电得10分",
                points_per_kwh=Decimal("10"),
                max_points_per_period=2000,
            )
        )


def _household(session: Session, tenant: Tenant, spec: HouseholdSpec, now: datetime) -> Household:
    found = session.exec(
        select(Household).where(Household.tenant_id == tenant.id, Household.name == spec.name)
    ).first()
    if found is not None:
        return found
    household = _add(session, Household(tenant_id=tenant.id, name=spec.name, members=spec.members))
    for scope in spec.consent_scopes:
        session.add(
            ConsentEvent(
                household_id=_pk(household),
                scope=scope,
                granted=True,
                channel="seed",
                notice_version=NOTICE_VERSION,
                at=now,
            )
        )
    return household


def _device(session: Session, household: Household, spec: DeviceSpec) -> Device:
    found = session.exec(
        select(Device).where(Device.household_id == household.id, Device.name == spec.name)
    ).first()
    if found is not None:
        return found
    warranty_end = spec.purchased.replace(year=spec.purchased.year + spec.warranty_years)
    return _add(
        session,
        Device(
            household_id=_pk(household),
            category=spec.category,
            name=spec.name,
            brand=spec.brand,
            model=spec.model,
            room=spec.room,
            purchased_on=spec.purchased,
            warranty_until=warranty_end,
            energy_grade=spec.energy_grade,
            rated_power_w=spec.rated_power_w,
            rated_annual_kwh=spec.rated_annual_kwh,
        ),
    )


def _faults(session: Session, device: Device, spec: DeviceSpec, now: datetime) -> None:
    if not spec.faults or session.exec(select(FaultEvent).where(FaultEvent.device_id == device.id)).first():
        return
    for days_ago, code, description in spec.faults:
        session.add(
            FaultEvent(
                device_id=_pk(device),
                occurred_at=now - timedelta(days=days_ago),
                code=code,
                description=description,
                resolved=days_ago > 30,
            )
        )


def _readings(
    session: Session,
    device: Device,
    household: HouseholdSpec,
    spec: DeviceSpec,
    now: datetime,
    days: int,
    tz: ZoneInfo,
) -> int:
    """Add one reading per complete local day of the last ``days`` days that is missing."""
    today = now.astimezone(tz).date()
    first = max(today - timedelta(days=days), spec.purchased)
    existing = set(
        session.exec(
            select(EnergyReading.start).where(
                EnergyReading.device_id == device.id, EnergyReading.start >= _midnight(first, tz)
            )
        ).all()
    )
    rows = []
    day = first
    while day < today:
        start = _midnight(day, tz)
        if start not in existing:
            rng = random.Random(f"{household.name}/{spec.name}/{day.isoformat()}")
            kwh = Decimal(str(spec.daily_kwh(day, rng))).quantize(Decimal("0.001"))
            seconds = int((_midnight(day + timedelta(days=1), tz) - start).total_seconds())
            rows.append(EnergyReading(device_id=_pk(device), start=start, seconds=seconds, kwh=kwh))
        day += timedelta(days=1)
    session.add_all(rows)
    return len(rows)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)
