"""Green points move with a points-paid application: debited when it is confirmed (never below zero,
also under concurrent confirmations: the ledger's chain decides), credited back when it is cancelled
within the window. The ledger key is the application's offer, so each happens once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.errors import BotError
from bot.household import points
from bot.store.ledger import Application, OfferAudit


class PointsShort(BotError):
    """The balance does not cover the points price: the application stays pending."""

    code = "insufficient_points"
    status = 409


def _key(row: Application) -> str:
    return f"application:{row.offer_id}"


def points_price(session: Session, row: Application) -> int | None:
    """The points an application costs (None: paid in money)."""
    offer = session.get(OfferAudit, row.offer_id)
    raw: object = None if offer is None else offer.terms.get("points_price")
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():  # not 「²」, which int() refuses
        raw = int(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None


def debit_on_confirm(session: Session, row: Application, now: datetime) -> None:
    """Debit the points price of a points-paid application (once); PointsShort when the balance is short."""
    price = points_price(session, row)
    if price is None:
        return
    offer = session.get(OfferAudit, row.offer_id)
    name = "" if offer is None else offer.terms.get("name", "")
    reward = points.Reward(code=(offer.subject if offer else "service")[:40], name=name, points=price)
    try:
        points.redeem(session, row.household_id, reward, now, request_key=_key(row))
    except points.InsufficientPoints as err:
        raise PointsShort(err.message) from err


def credit_on_cancel(session: Session, row: Application, now: datetime) -> None:
    """Credit back what confirming debited (nothing when nothing was debited)."""
    if points_price(session, row) is None:
        return
    points.refund(session, row.household_id, _key(row), "取消兑换，积分退回", now)
