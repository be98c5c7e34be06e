"""Which device used the most energy in a period (the 「最费电的是哪个」 part of an energy answer)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session

from bot.analysis import DeviceUsage, household_usage
from bot.periods import resolve


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
