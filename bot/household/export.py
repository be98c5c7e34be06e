"""A household's data export: every row stored about it, one JSON document (docs/security.md).

The sections are the personal tables themselves (``bot.household.erasure.personal_tables``), so a
table added later (complaints, subscriptions …) is exported as soon as it has a ``household_id``,
``device_id`` or ``conversation_id`` column. Credential hashes are never exported.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.errors import NotFoundError
from bot.household import erasure
from bot.store.db import utcnow
from bot.store.tables import metadata

EXPORT_FORMAT = 1
JSON_TEXT_COLUMNS = frozenset({"outcome"})
"""Columns holding JSON text, exported as JSON (a turn's transcript and replies)."""


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in JSON_TEXT_COLUMNS & set(out):
        with contextlib.suppress(TypeError, ValueError):
            out[name] = json.loads(out[name])
    return out


def export_household(session: Session, household_id: int) -> dict[str, Any]:
    """``{"format", "exported_at", "household", "tables": {name: [row, …]}, "kept_on_erasure"}``."""
    household = metadata.tables["household"]
    row = session.execute(select(household).where(household.c.id == household_id)).mappings().first()
    if row is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    rows = erasure.export_rows(session, erasure.owned(session, household_id))
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "household": {k: erasure.plain(v) for k, v in row.items()},
        "tables": {name: [_decoded(r) for r in table_rows] for name, table_rows in rows.items()},
        "kept_on_erasure": kept_tables(),
    }


def kept_tables() -> dict[str, str]:
    """Personal tables an erasure keeps, with the reason."""
    found = {t.name: erasure.policy_of(t) for t in erasure.personal_tables()}
    return {name: p.reason for name, p in found.items() if p is not None and p.how is erasure.How.KEEP}
