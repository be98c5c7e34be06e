"""What 「删除我的数据」 erases and what the export contains: every table says how it is treated.

A table is *personal* when it has a ``household_id``, ``device_id`` or ``conversation_id`` column.
Each personal table has a :class:`Policy`: ERASE (its rows of the household are deleted) or KEEP
(with the reason it must stay). A table declares its own policy with
``__table_args__ = {"info": {"erasure": "erase"|"keep", "reason": "..."}}``, or is listed in
:data:`POLICIES`; ``tests/test_erasure.py`` fails for a personal table with neither, so a table added
later is never forgotten by the erasure or the export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, MetaData, Table, delete, select
from sqlmodel import Session

from bot.store.tables import metadata as store_metadata

KEYS = ("household_id", "device_id", "conversation_id")
"""Columns that make a row the household's: its id, one of its devices, one of its conversations."""
SECRET_COLUMNS = frozenset({"token_hash", "code_hash", "salt", "broker_hash"})
"""Never exported (a hash of a credential is still a credential)."""


class How(StrEnum):
    """What an erasure does to a personal table."""

    ERASE = "erase"
    KEEP = "keep"


@dataclass(frozen=True)
class Policy:
    """How a table is erased, and why when it is kept."""

    how: How
    reason: str


_WORDS = "holds what was said or measured"
POLICIES: dict[str, Policy] = {
    "energyreading": Policy(How.ERASE, "device readings"),
    "faultevent": Policy(How.ERASE, "device fault reports"),
    "turn": Policy(How.ERASE, f"stored turn outcomes: transcripts and replies ({_WORDS})"),
    "conversation": Policy(How.ERASE, "which device talked when; the key to Rasa's trackers"),
    "analyticsevent": Policy(How.ERASE, "intent and card rows joinable through the conversation id"),
    "household": Policy(How.KEEP, "the household account itself (closing it is an admin action)"),
    "device": Policy(How.KEEP, "the household's devices and their names, needed to keep serving it"),
    "apitoken": Policy(How.KEEP, "credentials of the household's own devices (hashes only)"),
    "consentevent": Policy(
        How.KEEP, "consent ledger: evidence of what was allowed when; records the erasure"
    ),
    "offeraudit": Policy(How.KEEP, "record of each offer made and why (regulatory audit, 'why this offer')"),
    "application": Policy(How.KEEP, "applications agreed with partners (contract record, cancellable)"),
    "offerpreference": Policy(How.KEEP, "'no more offers' must still hold after the erasure"),
    "pointsentry": Policy(How.KEEP, "green points ledger: value the household owns"),
    "applicationevent": Policy(How.KEEP, "state history of kept applications (contract record)"),
    "complaintticket": Policy(
        How.KEEP, "open service cases the manufacturer must answer (category and subject, no words)"
    ),
    "devicechange": Policy(How.KEEP, "which appliance replaced which, the baseline of earned points"),
    "householdsubscription": Policy(
        How.KEEP, "maintenance subscriptions the household holds (contract record; cancel to end them)"
    ),
    "pairingcode": Policy(How.KEEP, "pairing codes of the household's devices (hashes only)"),
    "hubsecret": Policy(How.KEEP, "the hub's broker credential (hash only), needed to keep serving it"),
    "removedhousehold": Policy(How.KEEP, "marks a household an admin removed; holds no personal data"),
}


def policy_of(table: Table) -> Policy | None:
    """The table's own declaration (``info["erasure"]``), else its entry in :data:`POLICIES`."""
    declared = table.info.get("erasure")
    if declared is not None:
        return Policy(How(str(declared)), str(table.info.get("reason", "")))
    return POLICIES.get(table.name)


def key_of(table: Table) -> str | None:
    """The column that ties ``table``'s rows to a household (first of :data:`KEYS`), or None."""
    return next((key for key in KEYS if key in table.c), None)


def personal_tables(metadata: MetaData | None = None) -> list[Table]:
    """Tables with a household, device or conversation column, parents before children."""
    meta = metadata if metadata is not None else store_metadata
    return [t for t in meta.sorted_tables if key_of(t) is not None]


def uncovered(metadata: MetaData | None = None) -> list[str]:
    """Personal tables without an erasure policy (the test that guards new tables lists them)."""
    return [t.name for t in personal_tables(metadata) if policy_of(t) is None]


@dataclass(frozen=True)
class Owned:
    """The ids that make rows the household's."""

    household_id: int
    devices: tuple[int, ...]
    conversations: tuple[str, ...]

    def values(self, key: str) -> tuple[Any, ...]:
        """The ids to match for a key column."""
        return {
            "household_id": (self.household_id,),
            "device_id": self.devices,
            "conversation_id": self.conversations,
        }[key]


def owned(session: Session, household_id: int) -> Owned:
    """The household's device and conversation ids."""
    tables = store_metadata.tables
    devices = session.execute(
        select(tables["device"].c.id).where(tables["device"].c.household_id == household_id)
    ).scalars()
    conversations = session.execute(
        select(tables["conversation"].c.id).where(tables["conversation"].c.household_id == household_id)
    ).scalars()
    return Owned(household_id, tuple(int(d) for d in devices), tuple(str(c) for c in conversations))


def _erasable(skip: Iterable[str]) -> list[Table]:
    wanted = [t for t in personal_tables() if (p := policy_of(t)) is not None and p.how is How.ERASE]
    return [t for t in wanted if t.name not in set(skip)]


def erase_rows(session: Session, ids: Owned, *, skip: Iterable[str] = ()) -> dict[str, int]:
    """Delete the household's rows of every ERASE table (children first); no commit. Counts by table."""
    counts: dict[str, int] = {}
    for table in reversed(_erasable(skip)):
        key = key_of(table)
        values = ids.values(key) if key else ()
        if key is None or not values:
            counts[table.name] = 0
            continue
        column: Column[Any] = table.c[key]
        result = session.execute(delete(table).where(column.in_(values)))
        counts[table.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts


def plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601, decimals as strings."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_rows(session: Session, ids: Owned) -> dict[str, list[dict[str, Any]]]:
    """Every row of every personal table that belongs to the household, by table name (no secrets)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in personal_tables():
        key = key_of(table)
        if key is None:
            continue
        values = ids.values(key)
        columns = [c for c in table.c if c.name not in SECRET_COLUMNS]
        rows = session.execute(select(*columns).where(table.c[key].in_(values))).all() if values else []
        out[table.name] = [{c.name: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return out
