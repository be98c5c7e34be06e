"""Use and cost of a household and its devices over a resolved period, with chart series.

Costs follow ``bot.energy.tariff``: the household is priced on its tiered schedule (counting earlier use
in the same accounting month or year), and a device's cost is its kWh × the household's average
price over the same period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.energy import tariff
from bot.errors import NotFoundError
from bot.periods import Granularity, Period, zone
from bot.store.models import Device, EnergyReading, Household, Tenant
from bot.telemetry import series
from bot.telemetry.series import DayTotal

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Context:
    """Tariff settings of one household, resolved from its tenant."""

    household_id: int
    schedule: tariff.TariffSchedule
    tz: str
    members: int


@dataclass(frozen=True)
class SeriesPoint:
    """One bar of a usage chart."""

    label: str
    kwh: Decimal


@dataclass(frozen=True)
class DeviceUsage:
    """Use and cost of one device over a period."""

    device_id: int
    name: str
    category: str
    kwh: Decimal
    cost: Decimal
    series: tuple[SeriesPoint, ...]
    covered_seconds: int
    """How much of the period the device's readings cover (0: no data at all)."""


@dataclass(frozen=True)
class HouseholdUsage:
    """Use and cost of a household over a period, with its devices."""

    household_id: int
    period: Period
    tariff_key: str
    kwh: Decimal
    cost: Decimal
    average_price: Decimal
    """元/kWh over the period, 4 decimals (what device costs are priced at)."""
    devices: tuple[DeviceUsage, ...]
    series: tuple[SeriesPoint, ...]


def context(session: Session, household_id: int) -> Context:
    """The household's tariff, timezone and size."""
    household = session.get(Household, household_id)
    tenant = None if household is None else session.get(Tenant, household.tenant_id)
    if household is None or tenant is None:
        raise NotFoundError(f"household {household_id} not found", code="household_not_found")
    sched = tariff.schedule(tenant.tariff_region, tenant.tariff_yuan_per_kwh)
    return Context(household_id, sched, tenant.timezone, household.members)


def _devices(session: Session, household_id: int) -> list[Device]:
    return list(
        session.exec(select(Device).where(Device.household_id == household_id).order_by(col(Device.id))).all()
    )


def household_usage(
    session: Session, household_id: int, period: Period, device_id: int | None = None
) -> HouseholdUsage:
    """Use and cost of the household (or only ``device_id`` in ``devices``) over ``period``."""
    ctx = context(session, household_id)
    devices = _devices(session, household_id)
    first, end = period.first_day, period.end_day
    load_from = min(first, tariff.accounting_start(ctx.schedule, first))
    per_device = series.daily_totals(session, [d.id for d in devices if d.id], load_from, end, zone(ctx.tz))
    home = series.summed(per_device)
    price = tariff.average_price(ctx.schedule, home, first, end, ctx.members)
    usages = tuple(
        _device_usage(d, per_device[d.id], period, price)
        for d in devices
        if d.id is not None and device_id in (None, d.id)
    )
    kwh = sum((k for d, k in home.items() if first <= d < end), _ZERO)
    return HouseholdUsage(
        household_id,
        period,
        ctx.schedule.key,
        _kwh(kwh),
        tariff.period_cost(ctx.schedule, home, first, end, ctx.members),
        price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
        usages,
        _series(home, period),
    )


def device_usage(session: Session, device_id: int, period: Period) -> DeviceUsage:
    """Use and cost of one device over ``period`` (priced at its household's average price)."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError(f"device {device_id} not found", code="device_not_found")
    return household_usage(session, device.household_id, period, device_id).devices[0]


def _device_usage(device: Device, days: dict[date, DayTotal], period: Period, price: Decimal) -> DeviceUsage:
    total = series.window(days, period.first_day, period.end_day)
    points = _series(series.kwh_by_day(days), period)
    return DeviceUsage(
        device.id or 0,
        device.name,
        device.category,
        _kwh(total.kwh),
        tariff.money(total.kwh * price),
        points,
        total.seconds,
    )


def _series(kwh_by_day: dict[date, Decimal], period: Period) -> tuple[SeriesPoint, ...]:
    """One point per day or per month of the period, labelled in Chinese."""
    first, end = period.first_day, period.end_day
    if period.granularity is Granularity.DAY:
        days = dict.fromkeys(_points(first, end, True), _ZERO)
        for day, kwh in kwh_by_day.items():
            if first <= day < end:
                days[day] += kwh
        return tuple(SeriesPoint(f"{d.month}月{d.day}日", _kwh(k)) for d, k in days.items())
    # Keyed by (year, month), not the month's first day: ``day.replace(day=1)`` costs more per day.
    months = {(m.year, m.month): _ZERO for m in _points(first, end, False)}
    for day, kwh in kwh_by_day.items():
        if first <= day < end:
            months[day.year, day.month] += kwh
    return tuple(SeriesPoint(f"{month}月", _kwh(k)) for (_, month), k in months.items())


def _points(first: date, end: date, daily: bool) -> Iterable[date]:
    """The first day of each point of ``[first, end)``: every day, or every month's first day."""
    if daily:
        return (first + timedelta(days=i) for i in range((end - first).days))
    months: list[date] = []
    month = first.replace(day=1)
    while month < end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _kwh(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Coverage:
    """The local days a household's readings cover (first and last day with any reading)."""

    first: date
    last: date


def coverage(session: Session, household_id: int, tz: str) -> Coverage | None:
    """First and last local day with a reading of any of the household's devices (None: no readings)."""
    ids = select(Device.id).where(Device.household_id == household_id)
    row = session.exec(
        select(func.min(EnergyReading.start), func.max(EnergyReading.start)).where(
            col(EnergyReading.device_id).in_(ids)
        )
    ).one()
    if row[0] is None or row[1] is None:
        return None
    zi = zone(tz)
    return Coverage(_local_day(row[0], zi), _local_day(row[1], zi))


def _local_day(moment: datetime, zi: ZoneInfo) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zi).date()
