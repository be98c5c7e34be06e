"""Applications started from an offer: pending → confirmed → approved/declined (by the partner) →
disbursed; pending → expired; pending/confirmed/approved → cancelled (within the window).

One application per offer (a UNIQUE column), so starting or confirming the same offer twice
yields the same application. Confirmation is binding and completes out of band (a panel tap or
the phone page), never by voice alone; cancellation works within the cancellation window counted
from confirmation. Every change commits together with its history entry and, when the partner must
hear of it, its outbox message (``bot.offers.journey``), before it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.errors import BotError, NotFoundError, StoreError
from bot.finance.installments import apr_text
from bot.offers import journey, points_redemption, subscribing
from bot.offers.types import OfferKind
from bot.store.ledger import Application, OfferAudit
from bot.store.models import DeviceCategory, Household
from bot.tenants.config import tenant_config_of

DEFAULT_CANCEL_WINDOW = timedelta(days=7)
"""Matches the 7-day no-reason return (七日无理由退货) consumers know from distance sales."""
DEFAULT_CONFIRM_WITHIN = timedelta(hours=24)
"""A pending application not confirmed within this expires."""
CONFIRM_CHANNELS = frozenset({"panel", "phone"})
"""Out-of-band channels that may confirm (a panel's tap, the phone page); voice alone may not."""
CONFIRM_SCREENS = "请在中控屏上点确认，或用手机扫描屏上的二维码确认"
"""Names the screens that can confirm (the 403 of any other device)."""
APPLICABLE_KINDS = frozenset(
    {
        OfferKind.INSTALLMENT,
        OfferKind.UPGRADE,
        OfferKind.WARRANTY,
        OfferKind.TRADE_IN,
        OfferKind.SUBSCRIPTION,
    }
)
"""Insurance is handed off to the insurer, points are redeemed in the points ledger."""


class ApplicationState(StrEnum):
    """States of an application."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    APPROVED = "approved"
    DECLINED = "declined"
    DISBURSED = "disbursed"


CANCELLABLE_AFTER_CONFIRMATION = frozenset({ApplicationState.CONFIRMED, ApplicationState.APPROVED})
"""Confirmed states a household may still cancel inside the window (the partner is told)."""


class ApplicationError(BotError):
    """A transition the state machine does not allow; ``code`` says which."""

    code = "invalid_transition"
    status = 409


@dataclass(frozen=True)
class ApplicationRecord:
    """An application as stored."""

    application_id: int
    offer_id: int
    household_id: int
    kind: str
    state: ApplicationState
    created_at: datetime
    expires_at: datetime
    cancel_until: datetime
    confirmed_at: datetime | None
    confirmed_via: str | None
    closed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """Fields of the ``application_status`` card."""
        return {
            "application_id": self.application_id,
            "offer_id": self.offer_id,
            "kind": self.kind,
            "state": self.state.value,
            "expires_at": self.expires_at.isoformat(),
            "cancel_until": self.cancel_until.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "confirmed_via": self.confirmed_via,
        }


def confirm_channel(category: str) -> str:
    """The confirmation channel of a device: a panel taps; every other device gets a 403."""
    if category == DeviceCategory.PANEL:
        return "panel"
    raise ApplicationError(CONFIRM_SCREENS, code="confirm_out_of_band", status=403)


def start(
    session: Session,
    offer_id: int,
    household_id: int,
    now: datetime,
    window: timedelta = DEFAULT_CANCEL_WINDOW,
    confirm_within: timedelta = DEFAULT_CONFIRM_WITHIN,
    *,
    channel: str = "voice",
) -> ApplicationRecord:
    """Start (pending) the application for an offer of this household; the existing one if any."""
    offer = _offer(session, offer_id, household_id)
    if offer.kind not in {k.value for k in APPLICABLE_KINDS}:
        raise ApplicationError(f"{offer.kind} offers are not applied for", code="not_applicable")
    existing = _find(session, offer_id)
    if existing is not None:
        return _record(existing)
    row = Application(
        offer_id=offer_id,
        household_id=household_id,
        kind=offer.kind,
        state=ApplicationState.PENDING.value,
        created_at=now,
        expires_at=now + confirm_within,
        cancel_window_s=int(window.total_seconds()),
        cancel_until=now + window,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raced = _find(session, offer_id)
        if raced is None:
            raise
        return _record(raced)
    journey.record_event(session, row, "created", channel, now)
    return _commit(session, row)


def confirm(
    session: Session, offer_id: int, household_id: int, now: datetime, *, via: str = "panel"
) -> ApplicationRecord:
    """Pending → confirmed (idempotent); only before expiry and only out of band."""
    if via not in CONFIRM_CHANNELS:
        raise ApplicationError(CONFIRM_SCREENS, code="confirm_out_of_band", status=403)
    row = _load(session, offer_id, household_id)
    if via == "panel" and row.state == ApplicationState.PENDING and phone_only(session, row.offer_id):
        raise ApplicationError("金额较大，请用手机扫描屏上的二维码确认", code="confirm_on_phone", status=403)
    if row.state == ApplicationState.CONFIRMED:
        return _record(row)
    _require_live(session, row, now)
    points_redemption.debit_on_confirm(session, row, now)
    subscribing.start_on_confirm(session, row, now)
    row.state, row.confirmed_at, row.confirmed_via = ApplicationState.CONFIRMED.value, now, via
    row.cancel_until = max(row.cancel_until, now + timedelta(seconds=row.cancel_window_s))
    journey.record_event(session, row, "confirmed", via, now)
    journey.enqueue(session, row, "confirmation", now)
    return _commit(session, row)


def cancel(
    session: Session, offer_id: int | None, household_id: int, now: datetime, *, via: str = "voice"
) -> ApplicationRecord:
    """Cancel the application of ``offer_id`` (or the latest one); idempotent when cancelled."""
    if offer_id is None:
        found = latest(session, household_id)
        if found is None:
            raise NotFoundError("没有可以取消的申请", code="application_not_found")
        offer_id = found.offer_id
    row = _load(session, offer_id, household_id)
    if row.state == ApplicationState.CANCELLED:
        return _record(row)
    told_partner = row.state in CANCELLABLE_AFTER_CONFIRMATION
    if row.state == ApplicationState.PENDING:
        _require_live(session, row, now)
    elif told_partner and now > row.cancel_until:
        raise ApplicationError("已超过可取消的期限", code="cancel_window_closed")
    elif row.state == ApplicationState.EXPIRED:
        raise ApplicationError("申请已过期，请重新申请", code="application_expired")
    elif not told_partner:
        raise ApplicationError("这笔申请已结束，无法取消", code="application_closed")
    if told_partner:
        points_redemption.credit_on_cancel(session, row, now)
        subscribing.end_on_cancel(session, row, now)
    row.state, row.closed_at = ApplicationState.CANCELLED.value, now
    journey.record_event(session, row, "cancelled", via, now)
    if told_partner:
        journey.enqueue(session, row, "cancellation", now)
    return _commit(session, row)


def expire_due(session: Session, now: datetime) -> int:
    """Mark every pending application past its expiry as expired; returns how many."""
    rows = session.exec(
        select(Application).where(
            Application.state == ApplicationState.PENDING.value,
            col(Application.expires_at) <= now,
        )
    ).all()
    for row in rows:
        row.state, row.closed_at = ApplicationState.EXPIRED.value, now
        session.add(row)
        journey.record_event(session, row, "expired", "system", now)
    _flush_commit(session)
    return len(rows)


def binding_amount(terms: Mapping[str, str]) -> Decimal | None:
    """The amount an application binds the household to: total cost, else the price."""
    raw = terms.get("total_cost") or terms.get("price")
    try:
        return None if raw is None else Decimal(str(raw))
    except InvalidOperation:
        return None


def phone_only(session: Session, offer_id: int) -> bool:
    """True when the tenant's out-of-band threshold requires the phone (QR) for this offer."""
    offer = session.get(OfferAudit, offer_id)
    household = session.get(Household, offer.household_id) if offer else None
    if offer is None or household is None:
        return False
    threshold = tenant_config_of(session, household.tenant_id).oob_confirm_above
    amount = binding_amount(offer.terms)
    return threshold is not None and amount is not None and amount > threshold


def get(session: Session, offer_id: int, household_id: int) -> ApplicationRecord:
    """The application of an offer of this household."""
    return _record(_load(session, offer_id, household_id))


def latest(session: Session, household_id: int) -> ApplicationRecord | None:
    """The household's most recently started application, if any."""
    row = session.exec(
        select(Application)
        .where(Application.household_id == household_id)
        .order_by(col(Application.created_at).desc(), col(Application.id).desc())
        .limit(1)
    ).first()
    return None if row is None else _record(row)


def open_on_phone(app: ApplicationRecord, now: datetime) -> bool:
    """Whether the phone page can still act on it: confirm a live pending one, or cancel in the window."""
    if app.state == ApplicationState.PENDING:
        return now < app.expires_at
    return app.state in CANCELLABLE_AFTER_CONFIRMATION and now <= app.cancel_until


def by_id(session: Session, application_id: int) -> ApplicationRecord:
    """An application by its id (phone links and partner decisions name it so)."""
    row = session.get(Application, application_id)
    if row is None:
        raise NotFoundError("没有找到这笔申请", code="application_not_found")
    return _record(row)


def household_applications(session: Session, household_id: int) -> list[dict[str, Any]]:
    """``GET /api/v1/me/applications``: every application, newest first, terms as audited, history."""
    rows = session.exec(
        select(Application, OfferAudit)
        .join(OfferAudit, col(OfferAudit.id) == col(Application.offer_id))
        .where(Application.household_id == household_id)
        .order_by(col(Application.created_at).desc(), col(Application.id).desc())
    ).all()
    return [_listed(session, app, offer) for app, offer in rows]


def _listed(session: Session, app: Application, offer: OfferAudit) -> dict[str, Any]:
    record = _record(app)
    apr = None if offer.apr is None else offer.terms.get("apr", str(offer.apr))
    return {
        **record.as_json(),
        "terms": dict(offer.terms),
        "apr": apr,
        "apr_text": None if apr is None else apr_text(Decimal(apr)),
        "partner": journey.partner_of(offer.terms),
        "phone_only": app.state == ApplicationState.PENDING and phone_only(session, app.offer_id),
        "history": journey.history(session, record.application_id),
    }


def _require_live(session: Session, row: Application, now: datetime) -> None:
    """Raise unless ``row`` is pending and not past expiry (expiring it on the way)."""
    if row.state == ApplicationState.PENDING and now >= row.expires_at:
        row.state, row.closed_at = ApplicationState.EXPIRED.value, now
        journey.record_event(session, row, "expired", "system", now)
        _commit(session, row)
    if row.state == ApplicationState.EXPIRED:
        raise ApplicationError("申请已过期，请重新申请", code="application_expired")
    if row.state != ApplicationState.PENDING:
        raise ApplicationError(f"application is {row.state}", code="invalid_transition")


def _offer(session: Session, offer_id: int, household_id: int) -> OfferAudit:
    offer = session.get(OfferAudit, offer_id)
    if offer is None or offer.household_id != household_id:
        raise NotFoundError("没有找到这条推荐记录", code="offer_not_found")
    return offer


def _find(session: Session, offer_id: int) -> Application | None:
    return session.exec(select(Application).where(Application.offer_id == offer_id).with_for_update()).first()


def _load(session: Session, offer_id: int, household_id: int) -> Application:
    row = _find(session, offer_id)
    if row is None or row.household_id != household_id:
        raise NotFoundError("没有找到这笔申请", code="application_not_found")
    return row


def _commit(session: Session, row: Application) -> ApplicationRecord:
    session.add(row)
    _flush_commit(session)
    return _record(row)


def _flush_commit(session: Session) -> None:
    try:
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err


def _record(row: Application) -> ApplicationRecord:
    if row.id is None:
        raise StoreError("application row has no id")
    return ApplicationRecord(
        application_id=row.id,
        offer_id=row.offer_id,
        household_id=row.household_id,
        kind=row.kind,
        state=ApplicationState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        cancel_until=row.cancel_until,
        confirmed_at=row.confirmed_at,
        confirmed_via=row.confirmed_via,
        closed_at=row.closed_at,
    )
