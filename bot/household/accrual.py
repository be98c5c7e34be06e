"""The monthly points accrual (``bot points accrue --month YYYY-MM``): every appliance change's measured
saving in a settled month is credited once, with its reason on the ledger row.

The saving is measured by ``bot.energy.measured.measured_saving`` against the device's own 30 days
before the change. Idempotent: the ledger key is the device and the month, so a second run adds
nothing. Tenants without green points (``features.points``) or without an active rule, and households
that have not granted ``energy_data`` consent, are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.energy.measured import measured_saving
from bot.errors import BotError, InputError
from bot.household import consent, points
from bot.periods import local_midnight, zone
from bot.progress import Counter, Report, quiet
from bot.store.everyday import DeviceChange
from bot.store.ledger import PointsRule
from bot.store.models import Device, Household, Tenant
from bot.tenants.config import config_of_row

_LOGGER = logging.getLogger(__name__)
BASELINE_DAYS = 30
"""Days before the change that make the device's own baseline."""

STAGE = "积分结算"
"""The progress stage of the monthly accrual."""


@dataclass
class AccrualReport:
    """What one run credited and what it skipped (and why)."""

    month: str
    credited: int = 0
    """Ledger rows added by this run."""
    points: int = 0
    """Points added by this run."""
    already: int = 0
    """Savings credited by an earlier run."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Reason → count."""

    def skip(self, reason: str) -> None:
        """Count a change that earned nothing this month."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the month's first day; InputError otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as err:
        raise InputError(f"月份格式应为 YYYY-MM：{text}", code="bad_month") from err


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def accrue_month(session: Session, month: date, now: datetime, progress: Report = quiet) -> AccrualReport:
    """Credit every appliance change's measured saving in ``month`` (settled months only);
    ``progress`` hears the changes done."""
    report = AccrualReport(f"{month:%Y-%m}")
    changes = session.exec(select(DeviceChange).order_by(col(DeviceChange.id))).all()
    done = Counter(progress, STAGE, len(changes))
    done.start()
    for change in changes:
        _accrue_change(session, change, month, now, report)
        done.step()
    return report


def _accrue_change(
    session: Session, change: DeviceChange, month: date, now: datetime, report: AccrualReport
) -> None:
    household = session.get(Household, change.household_id)
    tenant = None if household is None else session.get(Tenant, household.tenant_id)
    device = session.get(Device, change.device_id)
    if household is None or tenant is None or device is None:
        report.skip("missing")
        return
    end = _next_month(month)
    if end > now.astimezone(zone(tenant.timezone)).date():
        report.skip("month_not_settled")
        return
    rule = _active_rule(session, tenant)
    if rule is None:
        report.skip("no_points")
        return
    if consent.missing(session, household.id or 0, ("energy_data",)):
        report.skip("no_consent")  # the saving is measured from the household's energy data
        return
    first = max(month, change.changed_on)
    if first >= end:
        report.skip("before_change")
        return
    try:
        measured = measured_saving(session, device.id or 0, change.changed_on, first, end, BASELINE_DAYS)
    except BotError as err:
        report.skip(err.code)
        return
    if measured.kwh_saved <= 0 or measured.measured_covered_days <= 0:
        report.skip("no_saving")
        return
    zi = zone(tenant.timezone)
    saving = points.MeasuredSaving(
        device.id or 0,
        local_midnight(first, zi),
        local_midnight(end, zi),
        measured.expected_kwh,
        measured.measured_kwh,
    )
    before = len(points.history(session, household.id or 0))
    reason = f"{device.name}{month.year}年{month.month}月比换新前少用{measured.kwh_saved.normalize():f}度电"
    moved = points.earn_from_saving(session, household.id or 0, rule.code, saving, now, reason=reason[:120])
    if moved is None:
        report.skip("no_saving")
    elif len(points.history(session, household.id or 0)) == before:
        report.already += 1
    else:
        report.credited += 1
        report.points += moved.delta


def _active_rule(session: Session, tenant: Tenant) -> PointsRule | None:
    if not config_of_row(tenant).feature_enabled("points"):
        return None
    query = select(PointsRule).where(PointsRule.tenant_id == tenant.id, col(PointsRule.active).is_(True))
    return session.exec(query.order_by(col(PointsRule.id))).first()


def settled_months(now: datetime, tz: str, count: int = 1) -> list[date]:
    """The last ``count`` months that have ended (what the daily run credits)."""
    first = now.astimezone(zone(tz)).date().replace(day=1)
    months: list[date] = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months
