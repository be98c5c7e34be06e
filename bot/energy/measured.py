"""Figures measured from a device's own telemetry: annual use, label check, saving against baseline.

Annual use is the last 365 local days scaled by the time the readings actually cover, so a gap in
telemetry is neither zero use nor a saving; with under ``MIN_MEASURED_DAYS`` of coverage it falls
back to the energy label. A measured saving compares a device with its own baseline per covered
second (baseline kWh/s × covered seconds afterwards − measured kWh); there is no weather or
season correction, so callers should pick comparable windows.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlmodel import Session, col, func, select

from bot.energy import tariff
from bot.energy.upgrades import RatingComparison, compare_with_rating
from bot.energy.usage import context
from bot.errors import InputError, NotFoundError
from bot.periods import zone
from bot.store.models import Device, EnergyReading
from bot.telemetry import series
from bot.telemetry.series import DayTotal

_DAY_S = 86_400
_YEAR_DAYS = 365
MIN_MEASURED_DAYS = 30
"""Less coverage than this in the last year and annual use falls back to the label."""
FULL_YEAR_SHARE = Decimal("0.95")
"""Coverage from which a year of readings counts as measured rather than annualised."""


class UsageBasis(StrEnum):
    """Where an annual kWh figure comes from (the card's ``assumptions``)."""

    MEASURED = "measured"
    ANNUALISED = "annualised"
    RATING = "rating"


@dataclass(frozen=True)
class AnnualUse:
    """A device's yearly kWh and its basis."""

    device_id: int
    kwh: Decimal
    basis: UsageBasis
    covered_days: Decimal


@dataclass(frozen=True)
class MeasuredSaving:
    """kWh a device saved in ``[first, end)`` against its own baseline before ``change_date``."""

    device_id: int
    change_date: date
    baseline_kwh_per_day: Decimal
    baseline_covered_days: Decimal
    measured_kwh: Decimal
    measured_covered_days: Decimal
    expected_kwh: Decimal
    """What the device would have used at its baseline rate over the covered time."""
    kwh_saved: Decimal
    """Expected minus measured, 0.001 kWh; negative when it used more (award no points then)."""


def _device(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.id is None:
        raise NotFoundError(f"device {device_id} not found", code="device_not_found")
    return device


def _days(seconds: int) -> Decimal:
    return (Decimal(seconds) / _DAY_S).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _totals(session: Session, device: Device, first: date, end: date) -> dict[date, DayTotal]:
    zi = zone(context(session, device.household_id).tz)
    return series.daily_totals(session, [device.id or 0], first, end, zi)[device.id or 0]


def _year_window(now: datetime, tz: str) -> tuple[date, date]:
    end = now.astimezone(zone(tz)).date() + timedelta(days=1)
    return end - timedelta(days=_YEAR_DAYS), end


def annual_use(session: Session, device_id: int, now: datetime) -> AnnualUse:
    """The device's yearly kWh: measured over the last 365 days, annualised, or from its label."""
    device = _device(session, device_id)
    first, end = _year_window(now, context(session, device.household_id).tz)
    total = series.window(_totals(session, device, first, end), first, end)
    covered = _days(total.seconds)
    if total.seconds >= MIN_MEASURED_DAYS * _DAY_S:
        kwh = total.kwh * _YEAR_DAYS * _DAY_S / total.seconds
        full = total.seconds >= FULL_YEAR_SHARE * _YEAR_DAYS * _DAY_S
        basis = UsageBasis.MEASURED if full else UsageBasis.ANNUALISED
        return AnnualUse(device_id, kwh.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), basis, covered)
    if device.rated_annual_kwh is not None:
        return AnnualUse(device_id, device.rated_annual_kwh, UsageBasis.RATING, covered)
    raise NotFoundError(f"device {device_id} has neither readings nor a rating", code="no_usage_data")


def rating_check(session: Session, device_id: int, now: datetime) -> RatingComparison | None:
    """Measured yearly use against the label, or None without a label or enough readings."""
    rated = _device(session, device_id).rated_annual_kwh
    use = annual_use(session, device_id, now)
    if rated is None or rated <= 0 or use.basis is UsageBasis.RATING:
        return None
    return compare_with_rating(use.kwh, rated)


def annual_price(session: Session, household_id: int, now: datetime) -> Decimal:
    """The household's average 元/kWh over the last 365 days (4 decimals).

    It walks a year of every device's readings, so it is remembered per household, day and
    readings version (count and last id of the household's readings: an import or an erasure
    changes it) in a small process-wide cache.
    """
    ctx = context(session, household_id)
    first, end = _year_window(now, ctx.tz)
    ids = [i for i in session.exec(select(Device.id).where(Device.household_id == household_id)).all() if i]
    version = session.exec(
        select(func.count(), func.max(EnergyReading.id)).where(col(EnergyReading.device_id).in_(ids))
    ).one()
    key = (household_id, ctx.schedule, ctx.members, first, end, tuple(version))
    if (price := _PRICES.get(key)) is None:
        load_from = tariff.accounting_start(ctx.schedule, first)
        per_device = series.daily_totals(session, ids, load_from, end, zone(ctx.tz))
        price = tariff.average_price(ctx.schedule, series.summed(per_device), first, end, ctx.members)
        price = price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        _PRICES[key] = price
        while len(_PRICES) > _PRICE_CACHE_SIZE:
            _PRICES.popitem(last=False)
    return price


_PRICE_CACHE_SIZE = 4096
_PRICES: OrderedDict[tuple[object, ...], Decimal] = OrderedDict()


def saving_against_baseline(baseline: DayTotal, measured: DayTotal) -> tuple[Decimal, Decimal]:
    """(expected kWh, kWh saved) of ``measured`` at the baseline's rate per covered second."""
    if baseline.seconds <= 0:
        raise InputError("no baseline readings before the change", code="no_baseline")
    expected = baseline.kwh * measured.seconds / baseline.seconds
    return expected, expected - measured.kwh


def measured_saving(
    session: Session,
    device_id: int,
    change_date: date,
    first: date,
    end: date,
    baseline_days: int = 30,
) -> MeasuredSaving:
    """kWh the device saved in ``[first, end)`` against ``baseline_days`` before ``change_date``."""
    if first < change_date or end <= first:
        raise InputError("measurement must be a non-empty window from the change date", code="bad_window")
    if baseline_days <= 0:
        raise InputError("baseline_days must be positive", code="bad_window")
    device = _device(session, device_id)
    base_first = change_date - timedelta(days=baseline_days)
    days = _totals(session, device, base_first, end)
    base = series.window(days, base_first, change_date)
    after = series.window(days, first, end)
    expected, saved = saving_against_baseline(base, after)
    step = Decimal("0.001")
    return MeasuredSaving(
        device_id=device_id,
        change_date=change_date,
        baseline_kwh_per_day=(base.kwh * _DAY_S / base.seconds).quantize(step, rounding=ROUND_HALF_UP),
        baseline_covered_days=_days(base.seconds),
        measured_kwh=after.kwh.quantize(step, rounding=ROUND_HALF_UP),
        measured_covered_days=_days(after.seconds),
        expected_kwh=expected.quantize(step, rounding=ROUND_HALF_UP),
        kwh_saved=saved.quantize(step, rounding=ROUND_HALF_UP),
    )
