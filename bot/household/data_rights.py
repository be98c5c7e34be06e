"""A household's data rights: erase what was said and measured about it, export everything.

Erasure withdraws every consent scope (so nothing can be collected for offers again without a new
grant) and deletes the household's rows of every table whose policy is ERASE (readings, faults,
stored turn outcomes, analytics rows, conversations — ``bot.household.erasure``), in one
transaction: either all of it happens or none. Rasa's trackers are erased by the gateway, which
holds Rasa's token (``bot.conversation.erasure``); until then the conversation rows that name them
stay (``keep_conversations``). The offer audit and applications stay: they record what was offered
and agreed, which the household may still query and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.errors import NotFoundError, StoreError
from bot.household import consent, erasure
from bot.store.models import ConsentEvent, ConsentScope, Household

ERASED_CARD = "data_erased"
"""Card type ``action_delete_data`` sends with its reply: the gateway then completes the erasure."""
_DELETION_WORDS = ("删", "清除", "清空", "销毁", "抹掉", "注销")
_NEGATIONS = ("不", "别", "先不", "算了", "没")


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed."""

    rows: dict[str, int]
    """Rows deleted, by table."""
    scopes_withdrawn: tuple[str, ...]
    conversations: tuple[str, ...] = ()
    """Conversation ids (Rasa senders) whose trackers must be erased too."""

    @property
    def readings(self) -> int:
        """Energy readings deleted."""
        return self.rows.get("energyreading", 0)

    @property
    def faults(self) -> int:
        """Fault reports deleted."""
        return self.rows.get("faultevent", 0)


def asks_for_deletion(text: str) -> bool:
    """True when a withdrawal utterance also asks to delete data (把我的数据删掉)."""
    return any(word in text for word in _DELETION_WORDS)


def confirms_deletion(text: str) -> bool:
    """An explicit yes to the irreversible erasure: names the deletion (确认删除, 删吧), negates nothing.

    A bare 「嗯」/「好的」 is not enough for a step that cannot be undone.
    """
    compact = "".join(text.split())
    return asks_for_deletion(compact) and not any(word in compact for word in _NEGATIONS)


def erase_household_data(
    session: Session,
    household_id: int,
    *,
    notice_version: str,
    now: datetime,
    channel: str,
    keep_conversations: bool = False,
) -> Erasure:
    """Withdraw all consent and delete the household's rows of every ERASE table; commit."""
    if session.get(Household, household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    try:
        ids = erasure.owned(session, household_id)
        skip = ("conversation",) if keep_conversations else ()
        rows = erasure.erase_rows(session, ids, skip=skip)
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
    return Erasure(rows, tuple(s.value for s in ConsentScope), ids.conversations)


def erase_device_data(
    session: Session, household_id: int, *, notice_version: str, now: datetime, channel: str
) -> Erasure:
    """The erasure a dialogue action can do: everything but the conversation rows (and trackers).

    The gateway completes it after the turn (``bot.conversation.erasure``).
    """
    return erase_household_data(
        session,
        household_id,
        notice_version=notice_version,
        now=now,
        channel=channel,
        keep_conversations=True,
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
