"""A partner's decision on a confirmed application: approved / declined, then disbursed.

Decisions only move forward: confirmed → approved | declined, approved → disbursed. A repeated
decision (same idempotency key, or the state it already has) changes nothing; one that arrives out
of order, for an application never confirmed, or for a cancelled one is recorded and ignored — a
decision never revives a cancelled application. Every decision received is kept with its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.errors import InputError, NotFoundError, StoreError
from bot.offers import journey
from bot.offers.applications import ApplicationState
from bot.store.journey import PartnerDecision
from bot.store.ledger import Application
from bot.store.models import Household

REASON_CATEGORIES = {
    "": "",
    "credit_history": "信用记录不满足要求",
    "income": "收入证明不足",
    "amount": "申请金额超出可批额度",
    "information": "资料不完整",
    "policy": "暂不符合机构政策",
    "other": "其他原因",
}
"""Decline reasons a household may hear (the partner sends the category, never free text)."""


class Decision(StrEnum):
    """What a partner may decide."""

    APPROVED = "approved"
    DECLINED = "declined"
    DISBURSED = "disbursed"


_FROM = {
    Decision.APPROVED: ApplicationState.CONFIRMED,
    Decision.DECLINED: ApplicationState.CONFIRMED,
    Decision.DISBURSED: ApplicationState.APPROVED,
}
"""The one state each decision may follow."""


@dataclass(frozen=True)
class DecisionRequest:
    """A verified callback body (CONTRACTS.md §5)."""

    application_id: int
    decision: Decision
    reason: str
    idempotency_key: str


@dataclass(frozen=True)
class DecisionOutcome:
    """What became of a decision: ``applied``, ``duplicate`` or why it was ignored."""

    outcome: str
    state: str


def parse_request(body: dict[str, object]) -> DecisionRequest:
    """Check a callback body; InputError (400) names the bad field."""
    app_id, key = body.get("application_id"), body.get("idempotency_key")
    if not isinstance(app_id, int) or isinstance(app_id, bool) or app_id <= 0:
        raise InputError("application_id 必须是正整数", code="bad_application_id")
    try:
        decision = Decision(str(body.get("decision")))
    except ValueError as err:
        raise InputError("decision 只能是 approved、declined 或 disbursed", code="bad_decision") from err
    reason = body.get("reason") or ""
    if not isinstance(reason, str) or reason not in REASON_CATEGORIES:
        raise InputError(f"reason 只能是 {', '.join(k for k in REASON_CATEGORIES if k)}", code="bad_reason")
    if not isinstance(key, str) or not 0 < len(key) <= 80:
        raise InputError("idempotency_key 必须是 1–80 个字符", code="bad_idempotency_key")
    return DecisionRequest(app_id, decision, reason, key)


def apply_decision(
    session: Session, partner: str, tenant_id: str, request: DecisionRequest, now: datetime
) -> DecisionOutcome:
    """Record the decision and apply it when it follows the application's state; commits."""
    seen = session.exec(
        select(PartnerDecision).where(
            PartnerDecision.partner == partner, PartnerDecision.idempotency_key == request.idempotency_key
        )
    ).first()
    row = _application(session, request.application_id, tenant_id)
    if seen is not None:
        return DecisionOutcome("duplicate", row.state)
    outcome = _outcome(row, request.decision)
    if outcome == "applied":
        row.state = request.decision.value
        session.add(row)
        detail = {"reason": request.reason} if request.reason else {}
        journey.record_event(session, row, "decided", "partner", now, decision=request.decision, **detail)
    session.add(
        PartnerDecision(
            application_id=request.application_id,
            partner=partner,
            decision=request.decision.value,
            reason=request.reason,
            idempotency_key=request.idempotency_key,
            outcome=outcome,
            received_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return DecisionOutcome("duplicate", _application(session, request.application_id, tenant_id).state)
    except Exception as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
    return DecisionOutcome(outcome, row.state)


def _application(session: Session, application_id: int, tenant_id: str) -> Application:
    row = session.get(Application, application_id)
    household = session.get(Household, row.household_id) if row else None
    if row is None or household is None or household.tenant_id != tenant_id:
        raise NotFoundError("没有找到这笔申请", code="application_not_found")
    return row


def _outcome(row: Application, decision: Decision) -> str:
    if row.state == decision.value:
        return "duplicate"
    if row.state == ApplicationState.CANCELLED:
        return "cancelled"
    if row.state in (ApplicationState.PENDING, ApplicationState.EXPIRED):
        return "not_confirmed"
    return "applied" if row.state == _FROM[decision] else "out_of_order"


def reason_text(category: str) -> str:
    """What the household hears of a decline reason category."""
    return REASON_CATEGORIES.get(category, REASON_CATEGORIES["other"]) or REASON_CATEGORIES["other"]
