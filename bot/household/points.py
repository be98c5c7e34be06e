"""Green points: earned from measured kWh savings against a device's own baseline, redeemed.

Redemption buys maintenance services priced in points. The ledger (``PointsEntry``) is
append-only and chained: each entry stores the running balance and a per-household ``seq``. Two
writers that read the same last entry collide on UNIQUE(household_id, seq); the loser re-reads and
re-checks, so the balance never goes below zero, even under concurrency. Earning is idempotent per
device and period, redemption per request key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.errors import BotError, InputError, NotFoundError, StoreError
from bot.store.ledger import PointsEntry, PointsRule
from bot.store.models import Device, Household

_RETRIES = 20


class InsufficientPoints(BotError):
    """A redemption costs more points than the balance."""

    code = "insufficient_points"
    status = 409


@dataclass(frozen=True)
class MeasuredSaving:
    """A device's measured consumption over a period, against its own baseline for that period."""

    device_id: int
    period_start: datetime
    period_end: datetime
    baseline_kwh: Decimal
    actual_kwh: Decimal

    @property
    def kwh_saved(self) -> Decimal:
        """Saving (never negative): baseline minus actual."""
        return max(Decimal(0), self.baseline_kwh - self.actual_kwh)


@dataclass(frozen=True)
class Reward:
    """A maintenance service priced in points (from the catalog's maintenance services)."""

    code: str
    name: str
    points: int


@dataclass(frozen=True)
class PointsMovement:
    """One ledger entry."""

    entry_id: int
    delta: int
    balance_after: int
    kind: str
    source_key: str
    service_code: str | None
    kwh_saved: Decimal | None
    created_at: datetime
    note: str = ""
    """Why: the saving that earned it, the service it bought."""


def points_for(rule: PointsRule, saving: MeasuredSaving) -> int:
    """Whole points a saving earns under ``rule`` (rounded down, capped per period)."""
    points = int((saving.kwh_saved * rule.points_per_kwh).to_integral_value(rounding=ROUND_FLOOR))
    cap = rule.max_points_per_period
    return points if cap is None else min(points, cap)


def earn_from_saving(
    session: Session,
    household_id: int,
    rule_code: str,
    saving: MeasuredSaving,
    now: datetime,
    reason: str | None = None,
) -> PointsMovement | None:
    """Credit a measured saving's points (once per device and period); None if it earns none.

    ``reason`` is what the ledger row says (「积分怎么来的」); the rule's name when not given."""
    device = session.get(Device, saving.device_id)
    household = session.get(Household, household_id)
    if device is None or household is None or device.household_id != household_id:
        raise NotFoundError("没有找到这台设备", code="device_not_found")
    rule = _rule(session, household.tenant_id, rule_code)
    key = f"earn:{saving.device_id}:{_utc(saving.period_start)}:{_utc(saving.period_end)}"
    _check_saving(saving)
    points = points_for(rule, saving)
    if points <= 0:
        return None
    extra = {"rule_id": rule.id, "device_id": saving.device_id, "kwh_saved": saving.kwh_saved}
    return _append(session, household_id, points, "earn", key, note=reason or rule.name, now=now, **extra)


def redeem(
    session: Session,
    household_id: int,
    reward: Reward,
    now: datetime,
    request_key: str | None = None,
) -> PointsMovement:
    """Spend ``reward.points`` on a service; InsufficientPoints leaves the ledger unchanged."""
    if reward.points <= 0 or not 0 < len(reward.code) <= 40:
        raise InputError("reward needs a code and a positive number of points", code="bad_reward")
    if request_key is not None and not 0 < len(request_key) <= 100:
        raise InputError("request_key must be 1-100 characters", code="bad_request_key")
    key = f"redeem:{request_key or uuid.uuid4().hex}"
    extra = {"service_code": reward.code}
    return _append(session, household_id, -reward.points, "redeem", key, note=reward.name, now=now, **extra)


def refund(
    session: Session, household_id: int, request_key: str, reason: str, now: datetime
) -> PointsMovement | None:
    """Credit back the redemption made with ``request_key`` (once); None when there was none."""
    spent = _existing(session, household_id, f"redeem:{request_key}")
    if spent is None:
        return None
    extra = {"service_code": spent.service_code}
    return _append(
        session, household_id, -spent.delta, "refund", f"refund:{request_key}", note=reason, now=now, **extra
    )


def balance(session: Session, household_id: int) -> int:
    """Current points balance (0 for a household without entries)."""
    last = _last(session, household_id)
    return 0 if last is None else last.balance_after


def history(session: Session, household_id: int) -> tuple[PointsMovement, ...]:
    """Every ledger entry of the household, oldest first."""
    rows = session.exec(
        select(PointsEntry).where(PointsEntry.household_id == household_id).order_by(col(PointsEntry.seq))
    ).all()
    return tuple(_movement(row) for row in rows)


def _append(
    session: Session,
    household_id: int,
    delta: int,
    kind: str,
    key: str,
    *,
    note: str,
    now: datetime,
    **extra: Any,
) -> PointsMovement:
    """Chain an entry after the household's last one, retrying when another writer won."""
    if session.get(Household, household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    for _ in range(_RETRIES):
        done = _existing(session, household_id, key)
        if done is not None:
            return _movement(done)
        last = _last(session, household_id)
        before = 0 if last is None else last.balance_after
        if before + delta < 0:
            raise InsufficientPoints(f"积分不足：需要{-delta}分，现有{before}分")
        row = PointsEntry(
            household_id=household_id,
            seq=1 if last is None else last.seq + 1,
            delta=delta,
            balance_after=before + delta,
            kind=kind,
            source_key=key,
            note=note[:120],
            created_at=now,
            **extra,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return _commit(session, row)
    raise StoreError("积分账本繁忙，请稍后再试", code="points_busy")


def _commit(session: Session, row: PointsEntry) -> PointsMovement:
    try:
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
    return _movement(row)


def _last(session: Session, household_id: int) -> PointsEntry | None:
    return session.exec(
        select(PointsEntry)
        .where(PointsEntry.household_id == household_id)
        .order_by(col(PointsEntry.seq).desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()


def _existing(session: Session, household_id: int, key: str) -> PointsEntry | None:
    return session.exec(
        select(PointsEntry).where(PointsEntry.household_id == household_id, PointsEntry.source_key == key)
    ).first()


def _rule(session: Session, tenant_id: str, code: str) -> PointsRule:
    rule = session.exec(
        select(PointsRule).where(PointsRule.tenant_id == tenant_id, PointsRule.code == code)
    ).first()
    if rule is None or not rule.active:
        raise NotFoundError(f"no active points rule {code!r}", code="points_rule_not_found")
    return rule


def _utc(at: datetime) -> str:
    if at.tzinfo is None:
        raise InputError("saving period needs time-zone aware datetimes", code="bad_saving")
    return at.astimezone(UTC).isoformat()


def _check_saving(saving: MeasuredSaving) -> None:
    if saving.period_end <= saving.period_start:
        raise InputError("saving period must end after it starts", code="bad_saving")
    if saving.baseline_kwh < 0 or saving.actual_kwh < 0:
        raise InputError("kWh must not be negative", code="bad_saving")


def _movement(row: PointsEntry) -> PointsMovement:
    if row.id is None:
        raise StoreError("points entry has no id")
    return PointsMovement(
        entry_id=row.id,
        delta=row.delta,
        balance_after=row.balance_after,
        kind=row.kind,
        source_key=row.source_key,
        service_code=row.service_code,
        kwh_saved=row.kwh_saved,
        created_at=row.created_at,
        note=row.note,
    )
