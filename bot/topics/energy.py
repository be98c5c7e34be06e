"""The answer to 「我家空调这个月用了多少电」: a household's (or one device category's) use and cost,
and which device used the most (「最费电的是哪个」).

A thin view over ``bot.energy.usage.household_usage`` (tiered tariff, chart series) for the dialogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session

from bot.energy.usage import DeviceUsage, SeriesPoint, household_usage
from bot.errors import NotFoundError
from bot.periods import resolve
from bot.store.models import Tenant

_KWH = Decimal("0.1")


@dataclass(frozen=True)
class EnergyUsage:
    """How much a household (or its devices of one category) used in a period, and what it cost."""

    device_type: str | None
    period: str
    period_label: str
    kwh: Decimal
    cost: Decimal
    devices: int
    series: tuple[SeriesPoint, ...]
    has_data: bool
    """False when no reading covers any part of the period."""


def usage(
    session: Session,
    tenant: Tenant,
    household_id: int,
    device_type: str | None,
    time_period: str,
    now: datetime,
) -> EnergyUsage:
    """Use and cost of the household's devices (of ``device_type``, if given) over the period."""
    period = resolve(time_period, now, tenant.timezone)
    home = household_usage(session, household_id, period)
    chosen = [d for d in home.devices if device_type in (None, d.category)]
    if not chosen:
        raise NotFoundError(f"家里没有{device_type}", code="no_such_device")
    if device_type is None:
        kwh, cost, series = home.kwh, home.cost, home.series
    else:
        kwh = sum((d.kwh for d in chosen), Decimal(0))
        cost = sum((d.cost for d in chosen), Decimal(0))
        series = tuple(
            SeriesPoint(points[0].label, sum((p.kwh for p in points), Decimal(0)))
            for points in zip(*(d.series for d in chosen), strict=True)
        )
    return EnergyUsage(
        device_type=device_type,
        period=time_period,
        period_label=period.label,
        kwh=kwh,
        cost=cost,
        devices=len(chosen),
        series=series,
        has_data=any(d.covered_seconds for d in chosen),
    )


def usage_card(result: EnergyUsage) -> dict[str, Any]:
    """The ``energy_usage`` card of CONTRACTS.md §4."""
    subject = result.device_type or "全屋"
    return {
        "type": "energy_usage",
        "title": f"{subject}{result.period_label}用电",
        "device_type": result.device_type,
        "period": result.period,
        "kwh": str(result.kwh),
        "cost": str(result.cost),
        "series": [{"label": p.label, "kwh": str(p.kwh)} for p in result.series],
        "suggestions": ["上个月呢", "怎么省电"],
    }


def spoken_kwh(kwh: Decimal) -> str:
    """kWh rounded for speech (one decimal)."""
    return str(kwh.quantize(_KWH, rounding=ROUND_HALF_UP))


def biggest_consumer(
    session: Session, household_id: int, tz: str, time_period: str, now: datetime
) -> DeviceUsage | None:
    """The device with the most kWh in the period, or None when nothing was measured."""
    home = household_usage(session, household_id, resolve(time_period, now, tz))
    measured = [d for d in home.devices if d.covered_seconds and d.kwh > 0]
    return max(measured, key=lambda d: (d.kwh, -d.device_id), default=None)


def spoken_share(part: Decimal, whole: Decimal) -> str:
    """``part`` as a whole percentage of ``whole`` ("43"), "0" when ``whole`` is 0."""
    if whole <= 0:
        return "0"
    return str((part * 100 / whole).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
