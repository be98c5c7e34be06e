"""Reading the offer audit: "why this offer" and the offers shown to a household (data rights)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import NotFoundError, StoreError
from bot.store.ledger import OfferAudit


@dataclass(frozen=True)
class OfferRecord:
    """One audited offer, as written before it was made; also the answer to "why this offer"."""

    offer_id: int
    household_id: int
    session_id: str
    kind: str
    subject: str
    topic: str | None
    proactive: bool
    terms: Mapping[str, str]
    apr: Decimal | None
    explanation: str
    data_scopes: tuple[str, ...]
    consent_refs: tuple[int, ...]
    inputs: Mapping[str, Any]
    text: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """JSON shape for ``GET /api/v1/me/offers`` (money and rates as strings)."""
        return {
            "offer_id": self.offer_id,
            "session_id": self.session_id,
            "kind": self.kind,
            "subject": self.subject,
            "topic": self.topic,
            "proactive": self.proactive,
            "terms": dict(self.terms),
            "apr": None if self.apr is None else str(self.apr.normalize()),
            "explanation": self.explanation,
            "data_scopes": list(self.data_scopes),
            "consent_refs": list(self.consent_refs),
            "inputs": dict(self.inputs),
            "text": self.text,
            "created_at": self.created_at.isoformat(),
        }


WhyAnswer = OfferRecord
"""``why`` answers from the audit row itself."""


def why(session: Session, household_id: int, offer_id: int | None = None) -> OfferRecord:
    """The audit row of ``offer_id`` (else the latest); other households' offers are not found."""
    row: OfferAudit | None
    if offer_id is None:
        row = session.exec(
            select(OfferAudit)
            .where(OfferAudit.household_id == household_id)
            .order_by(col(OfferAudit.created_at).desc(), col(OfferAudit.id).desc())
            .limit(1)
        ).first()
    else:
        row = session.get(OfferAudit, offer_id)
        if row is not None and row.household_id != household_id:
            row = None
    if row is None:
        raise NotFoundError("没有找到这条推荐记录", code="offer_not_found")
    return record_of(row)


def offers_shown(session: Session, household_id: int) -> tuple[OfferRecord, ...]:
    """Every offer made to the household, newest first."""
    rows = session.exec(
        select(OfferAudit)
        .where(OfferAudit.household_id == household_id)
        .order_by(col(OfferAudit.created_at).desc(), col(OfferAudit.id).desc())
    ).all()
    return tuple(record_of(row) for row in rows)


def record_of(row: OfferAudit) -> OfferRecord:
    """The typed view of an audit row."""
    if row.id is None:
        raise StoreError("offer audit row has no id")
    return OfferRecord(
        offer_id=row.id,
        household_id=row.household_id,
        session_id=row.session_id,
        kind=row.kind,
        subject=row.subject,
        topic=row.topic,
        proactive=row.proactive,
        terms=dict(row.terms),
        apr=row.apr,
        explanation=row.explanation,
        data_scopes=tuple(row.data_scopes),
        consent_refs=tuple(row.consent_refs),
        inputs=dict(row.inputs),
        text=row.text,
        created_at=row.created_at,
    )


def offer_audit(session: Session, household_id: int) -> dict[str, Any]:
    """我的数据 — offers: every offer shown to the household, newest first (also the export)."""
    return {"offers": [r.as_json() for r in offers_shown(session, household_id)]}
