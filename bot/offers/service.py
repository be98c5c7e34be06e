"""The single offer service: which offer (at most one, in context) may be made; audited first.

Callers (actions, gateway) build offer *candidates* from the catalog and the energy analysis; this
module knows neither. ``decide`` refuses candidates that need consent the household has not given
or that use sensitive data, honours "stop offers" and the caps on proactive offers, picks
deterministically (equal inputs give equal choices and terms: terms pass through untouched) and
commits the ``OfferAudit`` row before the offer leaves. ``why`` answers "why this offer" from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from bot.errors import InputError, NotFoundError, StoreError
from bot.finance.installments import is_interest_free
from bot.household import consent
from bot.offers.records import OfferRecord, record_of
from bot.offers.types import (
    DEFAULT_CAPS,
    Candidate,
    Caps,
    Decision,
    Offer,
    OfferContext,
    OfferKind,
    Refusal,
    RefusalReason,
)
from bot.store.ledger import OfferAudit, OfferPreference
from bot.store.models import ConsentScope, Household
from bot.tenants.config import TenantConfig

FREE_WORDS = ("免息", "零利息", "0利息", "无息", "零息", "0息", "零利率", "0利率")
"""Words that claim no interest: said only when the APR is exactly 0 (the studio checks them too)."""
_KIND_ORDER = {kind: i for i, kind in enumerate(OfferKind)}

FEATURE_OF_KIND: Mapping[OfferKind, str] = {
    OfferKind.INSTALLMENT: "installments",
    OfferKind.WARRANTY: "warranty",
    OfferKind.INSURANCE: "insurance",
    OfferKind.TRADE_IN: "trade_in",
    OfferKind.POINTS: "points",
    OfferKind.SUBSCRIPTION: "subscription",
}
"""The tenant feature switch that governs each offer kind (upgrades are advice, not a financial service)."""


def caps_of(tenant: TenantConfig) -> Caps:
    """The offer service's caps for a tenant: its limits, quiet hours and the kinds it switched off."""
    o = tenant.offers
    quiet = None if o.quiet_hours is None else (o.quiet_hours.start, o.quiet_hours.end)
    off = frozenset(kind for kind, feature in FEATURE_OF_KIND.items() if not tenant.feature_enabled(feature))
    return Caps(
        o.per_session,
        o.per_week,
        per_day=o.max_per_day,
        quiet_hours=quiet,
        timezone=tenant.timezone,
        disabled=off,
    )


def decide(
    session: Session,
    context: OfferContext,
    candidates: Sequence[Candidate],
    now: datetime,
    caps: Caps = DEFAULT_CAPS,
) -> Decision:
    """Pick at most one candidate, commit its audit row, and return it as the offer.

    A proactive decision first locks the household's row, so two turns cannot both pass the caps
    before either has written its offer (check and insert are one critical section per household).
    """
    if context.proactive:
        _lock_household(session, context.household_id)
    if session.get(Household, context.household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    for cand in candidates:
        _validate(cand)
    granted = consent.in_force(session, context.household_id)
    gate = _proactive_gate(session, context, now, caps)
    refusals: list[Refusal] = []
    for cand in sorted(candidates, key=lambda c: _order_key(c, context.topic)):
        refusal = _refusal(cand, context, granted, caps) or _gated(cand, gate)
        if refusal is None:
            offer = _audit(session, context, cand, granted, refusals, len(candidates), now)
            return Decision(offer, tuple(refusals))
        refusals.append(refusal)
    return Decision(None, tuple(refusals))


def _lock_household(session: Session, household_id: int) -> None:
    """A no-op write of the household row: a row lock on PostgreSQL, the write lock on SQLite,
    held until this decision commits."""
    try:
        session.execute(update(Household).where(col(Household.id) == household_id).values(id=Household.id))
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err


def proactive_refusal(
    session: Session, context: OfferContext, now: datetime, caps: Caps = DEFAULT_CAPS
) -> RefusalReason | None:
    """Why ``decide`` would refuse any proactive offer now (stop-offers, caps, quiet hours), or None.

    Lets callers skip computing a candidate that could not be offered anyway.
    """
    return _proactive_gate(session, context, now, caps) if context.proactive else None


def set_stop_offers(
    session: Session, household_id: int, stop: bool, *, now: datetime, channel: str = "voice"
) -> None:
    """Set (stop=True, 别再给我推荐了) or clear the stop-offers preference, and commit."""
    if session.get(Household, household_id) is None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    row = session.get(OfferPreference, household_id)
    if row is None:
        row = OfferPreference(household_id=household_id, channel=channel, updated_at=now)
    row.stop_offers, row.channel, row.updated_at = stop, channel, now
    _commit(session, row)


def offers_stopped(session: Session, household_id: int) -> bool:
    """True when the household asked for no more proactive offers."""
    row = session.get(OfferPreference, household_id)
    return row is not None and row.stop_offers


def _validate(cand: Candidate) -> None:
    for scope in cand.data_scopes:
        consent.parse_scope(scope)
    if not cand.explanation.strip() or not cand.text.strip() or not cand.subject.strip():
        raise InputError("offer candidate needs subject, explanation and text", code="bad_candidate")
    if len(cand.subject) > 80 or len(cand.text) > 500 or len(cand.explanation) > 500:
        raise InputError("offer candidate field too long", code="bad_candidate")
    _apr(cand)


def _apr(cand: Candidate) -> Decimal | None:
    raw = cand.terms.get("apr")
    if raw is None:
        return None
    try:
        apr = Decimal(raw)
    except InvalidOperation:
        raise InputError(f"apr is not a decimal: {raw!r}", code="bad_candidate") from None
    if not apr.is_finite() or apr < 0:
        raise InputError(f"apr out of range: {raw!r}", code="bad_candidate")
    return apr


def _order_key(cand: Candidate, topic: str | None) -> tuple[Any, ...]:
    terms = tuple(sorted(cand.terms.items()))
    kind = _KIND_ORDER[cand.kind]
    return (not _on_topic(cand, topic), cand.rank, kind, cand.subject, terms, cand.text)


def _on_topic(cand: Candidate, topic: str | None) -> bool:
    return topic is None or topic == cand.kind.value or topic in cand.topics


def _refusal(
    cand: Candidate, context: OfferContext, granted: Mapping[ConsentScope, int], caps: Caps
) -> Refusal | None:
    if cand.kind in caps.disabled:
        return Refusal(cand.kind, cand.subject, RefusalReason.FEATURE_DISABLED)
    if cand.uses_sensitive_data:
        return Refusal(cand.kind, cand.subject, RefusalReason.SENSITIVE_DATA)
    lacking = frozenset(s for s in cand.data_scopes if ConsentScope(s) not in granted)
    if lacking:
        return Refusal(cand.kind, cand.subject, RefusalReason.NEEDS_CONSENT, lacking)
    if not _truthful(cand):
        return Refusal(cand.kind, cand.subject, RefusalReason.UNTRUTHFUL_TERMS)
    if not _on_topic(cand, context.topic):
        return Refusal(cand.kind, cand.subject, RefusalReason.OFF_TOPIC)
    return None


def _truthful(cand: Candidate) -> bool:
    """Installments state their APR; "免息" is only said when the APR is exactly 0."""
    apr = _apr(cand)
    if cand.kind is OfferKind.INSTALLMENT and apr is None:
        return False
    says_free = any(word in f"{cand.text} {cand.explanation}" for word in FREE_WORDS)
    return not says_free or (apr is not None and is_interest_free(cand.terms))


def _gated(cand: Candidate, gate: RefusalReason | None) -> Refusal | None:
    return None if gate is None else Refusal(cand.kind, cand.subject, gate)


def _proactive_gate(
    session: Session, context: OfferContext, now: datetime, caps: Caps
) -> RefusalReason | None:
    if not context.proactive:
        return None
    if offers_stopped(session, context.household_id):
        return RefusalReason.STOP_OFFERS
    proactive = select(func.count()).where(
        OfferAudit.household_id == context.household_id, col(OfferAudit.proactive).is_(True)
    )
    in_session = session.exec(proactive.where(OfferAudit.session_id == context.session_id)).one()
    if in_session >= caps.per_session:
        return RefusalReason.SESSION_CAP
    in_week = session.exec(proactive.where(OfferAudit.created_at > now - caps.week)).one()
    if in_week >= caps.per_week:
        return RefusalReason.WEEKLY_CAP
    return _local_gate(session, proactive, now, caps)


def _local_gate(session: Session, proactive: Any, now: datetime, caps: Caps) -> RefusalReason | None:
    """The tenant's quiet hours and daily cap, in its local time."""
    local = now.astimezone(ZoneInfo(caps.timezone))
    if caps.quiet_hours is not None and _quiet(local.time(), *caps.quiet_hours):
        return RefusalReason.QUIET_HOURS
    if caps.per_day is None:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    in_day = session.exec(proactive.where(OfferAudit.created_at >= midnight.astimezone(UTC))).one()
    return RefusalReason.DAILY_CAP if in_day >= caps.per_day else None


def _quiet(moment: time, start: time, end: time) -> bool:
    if start == end:
        return False
    return start <= moment < end if start < end else moment >= start or moment < end


def _audit(
    session: Session,
    context: OfferContext,
    cand: Candidate,
    granted: Mapping[ConsentScope, int],
    refused: Sequence[Refusal],
    considered: int,
    now: datetime,
) -> Offer:
    scopes = sorted(cand.data_scopes)
    refs = sorted(granted[ConsentScope(s)] for s in scopes)
    inputs: dict[str, Any] = {
        "topic": context.topic,
        "proactive": context.proactive,
        "candidate_inputs": dict(cand.inputs),
        "candidates_considered": considered,
        "refused": [{"kind": r.kind.value, "subject": r.subject, "reason": r.reason.value} for r in refused],
    }
    row = OfferAudit(
        household_id=context.household_id,
        session_id=context.session_id,
        kind=cand.kind.value,
        subject=cand.subject,
        topic=context.topic,
        proactive=context.proactive,
        terms=dict(cand.terms),
        apr=_apr(cand),
        explanation=cand.explanation,
        data_scopes=scopes,
        consent_refs=refs,
        inputs=inputs,
        text=cand.text,
        created_at=now,
    )
    _commit(session, row)
    return _offer(record_of(row))


def _offer(rec: OfferRecord) -> Offer:
    return Offer(
        offer_id=rec.offer_id,
        kind=OfferKind(rec.kind),
        subject=rec.subject,
        terms=rec.terms,
        apr=rec.apr,
        explanation=rec.explanation,
        text=rec.text,
        data_scopes=rec.data_scopes,
        consent_refs=rec.consent_refs,
        proactive=rec.proactive,
        created_at=rec.created_at,
    )


def _commit(session: Session, row: OfferAudit | OfferPreference) -> None:
    try:
        session.add(row)
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
