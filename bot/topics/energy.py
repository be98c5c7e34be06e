"""The answer to 「我家空调这个月用了多少电」: a household's (or some devices') use and cost over the
period asked, which device used the most (「最费电的是哪个」), comparisons with the period before or
the same period last year (「比上个月多还是少」「比去年同期高了多少」), and an honest answer when the
readings do not cover the period.

A thin view over ``bot.energy.usage.household_usage`` (tiered tariff, chart series) for the dialogue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.energy.usage import Coverage, DeviceUsage, SeriesPoint, coverage, household_usage
from bot.errors import NotFoundError
from bot.household.devices import Pick, Selection, select_devices
from bot.periods import SAME_PERIOD_LAST_YEAR, Period, before, local_midnight, resolve, year_earlier, zone
from bot.store.models import Device, Tenant

_KWH = Decimal("0.1")
_ZERO = Decimal(0)
_RANKING = re.compile(r"最费电|最耗电|用电最多|耗电最多|最费钱|电老虎")
WHOLE_HOME = "全屋"
"""The subject of a question about the whole home."""
_COMPARE = re.compile(r"比|相比|对比|同比|环比|多还是少|高还是低|增加|减少|涨了|降了")


@dataclass(frozen=True)
class EnergyUsage:
    """How much a household (or some of its devices) used in a period, and what it cost."""

    device_type: str | None
    period: str
    period_label: str
    kwh: Decimal
    cost: Decimal
    devices: int
    series: tuple[SeriesPoint, ...]
    has_data: bool
    """False when no reading covers any part of the period."""
    subject: str = WHOLE_HOME
    """Who is measured, as spoken: 全屋, 空调 (every one), 卧室空调 (one device)."""
    ranking: tuple[DeviceUsage, ...] = ()
    """The measured devices, most kWh first."""


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
    devices = household_devices(session, household_id)
    chosen = select_devices(devices, "", device_type)
    if chosen.pick is Pick.NONE:
        raise NotFoundError(f"家里没有{device_type}", code="no_such_device")
    return measure(session, household_id, chosen, device_type, period)


def household_devices(session: Session, household_id: int) -> list[Device]:
    """The household's devices, in id order."""
    query = select(Device).where(Device.household_id == household_id).order_by(col(Device.id))
    return list(session.exec(query).all())


def measure(
    session: Session, household_id: int, chosen: Selection, device_type: str | None, period: Period
) -> EnergyUsage:
    """Use and cost of the chosen devices (the whole home for ``Pick.ALL``) over ``period``."""
    home = household_usage(session, household_id, period)
    ids = {d.id for d in chosen.devices}
    rows = [d for d in home.devices if chosen.pick is Pick.ALL or d.device_id in ids]
    ranking = tuple(sorted((d for d in rows if d.covered_seconds), key=lambda d: (-d.kwh, d.device_id)))
    if chosen.pick is Pick.ALL:
        kwh, cost, series = home.kwh, home.cost, home.series
    else:
        kwh = sum((d.kwh for d in rows), _ZERO)
        cost = sum((d.cost for d in rows), _ZERO)
        series = tuple(
            SeriesPoint(points[0].label, sum((p.kwh for p in points), _ZERO))
            for points in zip(*(d.series for d in rows), strict=True)
        )
    return EnergyUsage(
        device_type=device_type,
        period=period.key,
        period_label=period.label,
        kwh=kwh,
        cost=cost,
        devices=len(rows),
        series=series,
        has_data=any(d.covered_seconds for d in rows),
        subject=_subject(chosen, device_type),
        ranking=ranking,
    )


def _subject(chosen: Selection, device_type: str | None) -> str:
    if chosen.pick is Pick.ONE:
        return chosen.devices[0].name if chosen.said or device_type is None else device_type
    if chosen.said:
        return f"{chosen.said}的{device_type}" if device_type else chosen.said
    return device_type or WHOLE_HOME


def usage_card(result: EnergyUsage) -> dict[str, Any]:
    """The ``energy_usage`` card of CONTRACTS.md §4 (plus the top devices when several are measured)."""
    card: dict[str, Any] = {
        "type": "energy_usage",
        "title": f"{result.subject}{result.period_label}用电",
        "device_type": result.device_type,
        "subject": result.subject,
        "period": result.period,
        "period_label": result.period_label,
        "kwh": str(result.kwh),
        "cost": str(result.cost),
        "series": [{"label": p.label, "kwh": str(p.kwh)} for p in result.series],
        "suggestions": ["上个月呢", "比上个月多还是少", "怎么省电"],
    }
    if len(result.ranking) > 1:
        card["top_devices"] = [
            {"name": d.name, "kwh": str(d.kwh), "cost": str(d.cost)} for d in result.ranking[:3]
        ]
    return card


def asks_ranking(text: str) -> bool:
    """「哪个电器最费电」: the question is which device uses the most."""
    return bool(_RANKING.search(text))


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


# ---- the period asked, what the readings cover, comparisons -----------------------------------


@dataclass(frozen=True)
class Asked:
    """The periods of a question: the one asked about and, for a comparison, the one it is set against."""

    period: str
    versus: str | None
    """``same_period_last_year``, another period key, ``previous`` (the period before) or None."""


def asked_periods(text: str, mentions: Sequence[tuple[str, int]], default: str) -> Asked:
    """Periods of a question from its ``time_period`` mentions (value, position in ``text``).

    「这个月比上个月多还是少」: 本月 against 上个月; 「比去年同期高了多少」: the default period against the
    same dates a year earlier; 「比上个月多还是少」 alone: 本月 against 上个月.
    """
    compare = bool(_COMPARE.search(text))
    after_bi = [v for v, pos in mentions if _set_against(text, pos)]
    plain = [v for v, _ in mentions if v not in after_bi and v != SAME_PERIOD_LAST_YEAR]
    base = plain[0] if plain else default
    if any(v == SAME_PERIOD_LAST_YEAR for v, _ in mentions):
        return Asked(base, SAME_PERIOD_LAST_YEAR)
    if compare and after_bi:
        return Asked(base, after_bi[0])
    if compare and len(plain) >= 2:
        return Asked(plain[0], plain[1])
    return Asked(base, "previous" if compare else None)


def _set_against(text: str, pos: int) -> bool:
    """Whether the period at ``pos`` follows 比/跟/和 (the period compared with)."""
    return text[max(0, pos - 4) : pos].replace(" ", "").endswith(("比", "比起", "跟", "和", "较"))


def clip_to_data(period: Period, covered: Coverage | None) -> Period:
    """``period`` ending after the last day with readings (「本月到目前」), never before its start."""
    if covered is None or period.end_day <= covered.last + timedelta(days=1):
        return period
    end_day = max(covered.last + timedelta(days=1), period.first_day)
    zi = zone(str(period.start.tzinfo))
    return replace(period, end=local_midnight(end_day, zi))


def reference_period(asked: Asked, period: Period, now: datetime, tz: str) -> Period:
    """The period a comparison sets ``period`` against (the same length when ``period`` is so far)."""
    if asked.versus == SAME_PERIOD_LAST_YEAR:
        return year_earlier(period)
    if asked.versus in (None, "previous"):
        return before(period)
    other = resolve(asked.versus, now, tz)
    if period.key in ("this_month", "this_week", "this_year") and other.end_day <= period.first_day:
        length = period.end_day - period.first_day
        end_day = min(other.first_day + length, other.end_day)
        zi = zone(str(other.start.tzinfo))
        return replace(other, end=local_midnight(end_day, zi), label=f"{other.label}同期")
    return other


@dataclass(frozen=True)
class Comparison:
    """One period's use set against another's."""

    base: EnergyUsage
    other: EnergyUsage
    kwh_diff: Decimal
    """base − other (kWh)."""
    cost_diff: Decimal
    """base − other (元)."""


def compare(base: EnergyUsage, other: EnergyUsage) -> Comparison:
    """The difference between two measured periods."""
    return Comparison(base, other, base.kwh - other.kwh, base.cost - other.cost)


def comparison_card(result: Comparison) -> dict[str, Any]:
    """An ``energy_usage`` card with the two periods as the chart's bars and the comparison fields."""
    base, other = result.base, result.other
    card = usage_card(base)
    card["title"] = f"{base.subject}{base.period_label}与{other.period_label}"
    card["series"] = [
        {"label": other.period_label, "kwh": str(other.kwh)},
        {"label": base.period_label, "kwh": str(base.kwh)},
    ]
    card["compare"] = {
        "period_label": other.period_label,
        "kwh": str(other.kwh),
        "cost": str(other.cost),
        "kwh_diff": str(result.kwh_diff),
        "cost_diff": str(result.cost_diff),
    }
    card["suggestions"] = ["哪个电器最费电", "怎么省电"]
    return card


def spoken_day(day: date, today: date) -> str:
    """「12月4日」, with the year when it is not this year."""
    text = f"{day.month}月{day.day}日"
    return text if day.year == today.year else f"{day.year}年{text}"


def data_span(covered: Coverage | None, now: datetime, tz: str) -> dict[str, str]:
    """``first``/``last`` days with readings, as spoken (empty when there are none)."""
    if covered is None:
        return {}
    today = now.astimezone(zone(tz)).date()
    return {"first": spoken_day(covered.first, today), "last": spoken_day(covered.last, today)}


def outside_data(period: Period, covered: Coverage | None) -> bool:
    """Whether no reading day falls inside ``period``."""
    if covered is None:
        return True
    return period.end_day <= covered.first or period.first_day > covered.last


def before_data(period: Period, covered: Coverage | None) -> bool:
    """Whether ``period`` starts before the first reading (the total covers only part of it)."""
    return covered is not None and period.first_day < covered.first <= period.end_day


def data_coverage(session: Session, household_id: int, tz: str) -> Coverage | None:
    """First and last day with readings of the household."""
    return coverage(session, household_id, tz)
