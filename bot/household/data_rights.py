"""A household's data rights by voice: erase the device data collected about it.

Erasure withdraws every consent scope (so nothing can be collected for offers again without a new
grant) and deletes the household's energy readings and fault reports, in one transaction: either
all of it happens or none. The offer audit and applications stay: they record what was offered and
agreed, which the household may still query and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from bot.errors import NotFoundError, StoreError
from bot.household import consent
from bot.store.models import ConsentEvent, ConsentScope, Device, EnergyReading, FaultEvent, Household

_DELETION_WORDS = ("删", "清除", "清空", "销毁", "抹掉", "注销")


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed."""

    readings: int
    faults: int
    scopes_withdrawn: tuple[str, ...]


def asks_for_deletion(text: str) -> bool:
    """True when a withdrawal utterance also asks to delete data (把我的数据删掉)."""
    return any(word in text for word in _DELETION_WORDS)


def erase_device_data(
    session: Session, household_id: int, *, notice_version: str, now: datetime, channel: str
) -> Erasure:
    """Withdraw all consent and delete readings and faults of the household's devices; commit."""
    if session.get(Household, household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    devices = select(Device.id).where(Device.household_id == household_id)
    try:
        readings = session.execute(delete(EnergyReading).where(col(EnergyReading.device_id).in_(devices)))
        faults = session.execute(delete(FaultEvent).where(col(FaultEvent.device_id).in_(devices)))
        for scope in ConsentScope:
            session.add(
                ConsentEvent(
                    household_id=household_id,
                    scope=scope.value,
                    granted=False,
                    channel=channel,
                    notice_version=notice_version,
                    at=now,
                )
            )
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
    return Erasure(
        readings=int(readings.rowcount or 0),  # type: ignore[attr-defined]
        faults=int(faults.rowcount or 0),  # type: ignore[attr-defined]
        scopes_withdrawn=tuple(s.value for s in ConsentScope),
    )


_SCOPE_WORDS = {
    "energy_data": ("用电", "电量", "电费", "能耗", "耗电"),
    "device_usage": ("使用", "故障", "设备", "年限", "保修", "购买"),
}


def scopes_mentioned(text: str) -> tuple[str, ...]:
    """Consent scopes an utterance names (可以用我的用电数据 → energy_data); empty when none."""
    return tuple(scope for scope, words in _SCOPE_WORDS.items() if any(w in text for w in words))


def consent_ledger(session: Session, household_id: int) -> dict[str, Any]:
    """我的数据 — consents: each scope's state now and the full ledger (also the regulator export)."""
    states = consent.status(session, household_id)
    return {
        "scopes": [
            {
                "scope": scope.value,
                "granted": state.granted,
                "since": state.event.at.isoformat() if state.event else None,
                "channel": state.event.channel if state.event else None,
                "notice_version": state.event.notice_version if state.event else None,
            }
            for scope, state in states.items()
        ],
        "history": [r.as_json() for r in consent.history(session, household_id)],
    }
