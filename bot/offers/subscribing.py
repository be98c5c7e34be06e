"""A subscription offer's application starts the household's subscription when it is confirmed and
ends it when it is cancelled within the window; paid in points, it is a one-off redemption instead
(the points ledger), never a subscription."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.household import subscriptions
from bot.offers.types import OfferKind
from bot.store.ledger import Application, OfferAudit


def _subscription_offer(session: Session, row: Application) -> OfferAudit | None:
    offer = session.get(OfferAudit, row.offer_id)
    if offer is None or offer.kind != OfferKind.SUBSCRIPTION or offer.terms.get("points_price"):
        return None
    return offer


def start_on_confirm(session: Session, row: Application, now: datetime) -> None:
    """Start the subscription of a confirmed subscription application (once; not committed)."""
    offer = _subscription_offer(session, row)
    if offer is not None and offer.id is not None:
        subscriptions.start(session, row.household_id, offer.id, dict(offer.terms), now)


def end_on_cancel(session: Session, row: Application, now: datetime) -> None:
    """A confirmed subscription application cancelled within its window ends the subscription."""
    if _subscription_offer(session, row) is not None:
        subscriptions.withdraw(session, row.offer_id, now)
