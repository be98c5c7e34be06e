"""Consent ledger per household and scope: grant, withdraw, status, history, ``require``.

The ledger is append-only (``ConsentEvent``); the last event appended for a scope is in force.
Writes commit at once, so a withdrawal binds every later decision immediately.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from bot.errors import BotError, InputError, NotFoundError, StoreError
from bot.store.models import ConsentEvent, ConsentScope, Household

NOTICE_VERSION = "2026-11"
"""Version of the privacy notice that a grant or withdrawal refers to (voice, panel and seed alike)."""

CHANNELS = frozenset({"voice", "panel", "api", "seed"})
"""Where a consent event may come from."""


class ConsentRequired(BotError):
    """Device data would be used under a scope the household has not granted."""

    code = "needs_consent"
    status = 403

    def __init__(self, missing: frozenset[ConsentScope]):
        super().__init__("需要先获得您的授权", code=self.code, status=self.status)
        self.missing = missing


@dataclass(frozen=True)
class ConsentRecord:
    """One event of the ledger."""

    event_id: int
    scope: ConsentScope
    granted: bool
    channel: str
    notice_version: str
    at: datetime

    def as_json(self) -> dict[str, object]:
        """JSON shape for the data-rights endpoint."""
        return {
            "event_id": self.event_id,
            "scope": self.scope.value,
            "granted": self.granted,
            "channel": self.channel,
            "notice_version": self.notice_version,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class ConsentState:
    """Whether a scope is granted now, and by which event (None when never asked)."""

    scope: ConsentScope
    granted: bool
    event: ConsentRecord | None


def parse_scope(value: str) -> ConsentScope:
    """The scope named ``value``; unknown names raise InputError."""
    try:
        return ConsentScope(value)
    except ValueError:
        raise InputError(f"unknown consent scope: {value!r}", code="bad_scope") from None


def grant(
    session: Session,
    household_id: int,
    scope: str,
    *,
    channel: str,
    notice_version: str,
    now: datetime,
) -> ConsentRecord:
    """Append a grant of ``scope`` and commit it."""
    return _append(session, household_id, parse_scope(scope), True, channel, notice_version, now)


def withdraw(
    session: Session,
    household_id: int,
    scope: str,
    *,
    channel: str,
    notice_version: str,
    now: datetime,
) -> ConsentRecord:
    """Append a withdrawal of ``scope`` and commit it; it binds every later check at once."""
    return _append(session, household_id, parse_scope(scope), False, channel, notice_version, now)


def withdraw_all(
    session: Session, household_id: int, *, channel: str, notice_version: str, now: datetime
) -> tuple[ConsentRecord, ...]:
    """Withdraw every scope (撤回授权 without naming one)."""
    return tuple(
        withdraw(
            session,
            household_id,
            scope.value,
            channel=channel,
            notice_version=notice_version,
            now=now,
        )
        for scope in ConsentScope
    )


def history(session: Session, household_id: int) -> tuple[ConsentRecord, ...]:
    """Every consent event of the household, oldest first."""
    _household(session, household_id)
    rows = session.exec(
        select(ConsentEvent).where(ConsentEvent.household_id == household_id).order_by(ConsentEvent.id)  # type: ignore[arg-type]
    ).all()
    return tuple(_record(row) for row in rows)


def status(session: Session, household_id: int) -> dict[ConsentScope, ConsentState]:
    """The state of every scope: its last event, or not granted when there is none."""
    latest: dict[ConsentScope, ConsentRecord] = {}
    for record in history(session, household_id):
        latest[record.scope] = record
    return {
        scope: ConsentState(scope, bool(latest.get(scope) and latest[scope].granted), latest.get(scope))
        for scope in ConsentScope
    }


def in_force(session: Session, household_id: int) -> dict[ConsentScope, int]:
    """Granted scopes mapped to the id of the grant event in force."""
    return {
        scope: state.event.event_id
        for scope, state in status(session, household_id).items()
        if state.granted and state.event is not None
    }


def missing(session: Session, household_id: int, scopes: Iterable[str]) -> frozenset[ConsentScope]:
    """The scopes among ``scopes`` that are not granted now."""
    wanted = {parse_scope(s) for s in scopes}
    return frozenset(wanted - in_force(session, household_id).keys())


def require(session: Session, household_id: int, scopes: Iterable[str]) -> tuple[int, ...]:
    """Ids of the grant events covering ``scopes``; else ConsentRequired naming the missing."""
    wanted = {parse_scope(s) for s in scopes}
    granted = in_force(session, household_id)
    lacking = frozenset(wanted - granted.keys())
    if lacking:
        raise ConsentRequired(lacking)
    return tuple(sorted(granted[s] for s in wanted))


def _append(
    session: Session,
    household_id: int,
    scope: ConsentScope,
    granted: bool,
    channel: str,
    notice_version: str,
    now: datetime,
) -> ConsentRecord:
    _household(session, household_id)
    if channel not in CHANNELS:
        raise InputError(f"unknown consent channel: {channel!r}", code="bad_channel")
    if not notice_version.strip():
        raise InputError("notice_version is required", code="bad_notice_version")
    row = ConsentEvent(
        household_id=household_id,
        scope=scope.value,
        granted=granted,
        channel=channel,
        notice_version=notice_version,
        at=now,
    )
    try:
        session.add(row)
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
    return _record(row)


def _household(session: Session, household_id: int) -> None:
    if session.get(Household, household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")


def _record(row: ConsentEvent) -> ConsentRecord:
    if row.id is None:
        raise StoreError("consent event has no id")
    return ConsentRecord(
        row.id, ConsentScope(row.scope), row.granted, row.channel, row.notice_version, row.at
    )
