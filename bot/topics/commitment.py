"""Binding steps in conversation: what is read back before confirming, and the status card.

The read-back comes from the audited offer itself (seller, item, periods, monthly amount, APR,
total), so what the household confirms is exactly what was offered. Completion happens out of
band: the ``application_status`` card carries the panel action and where the panel gets the phone
link's QR code (minted per display: single use, short-lived).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.finance.installments import apr_text
from bot.offers.applications import APPLICABLE_KINDS, ApplicationRecord
from bot.offers.records import OfferRecord
from bot.offers.types import OfferKind
from bot.topics.aftercare import per_period
from bot.topics.subscription import lead_days

QR_ENDPOINT = "/api/v1/me/applications/{offer_id}/qr"
"""Where a panel gets a fresh single-use phone link (https) and its QR code for an application."""


def applicable(record: OfferRecord) -> bool:
    """True when the offer can be applied for (installments, warranties, subscriptions, trade-ins)."""
    return OfferKind(record.kind) in APPLICABLE_KINDS


def read_back(record: OfferRecord) -> tuple[str, dict[str, str]]:
    """What to read back, from the audit row, and its values: ``installment`` (``installment_trade_in``
    when a trade-in was netted off: price, credit, subsidy and principal each named), ``trade_in``
    (credits, never as a price), ``points``, ``subscription`` (its renewal terms again) or
    ``purchase``."""
    terms = record.terms
    if record.kind == OfferKind.INSTALLMENT:
        values = {
            "seller": terms.get("partner", ""),
            "item": terms.get("product", ""),
            "periods": terms.get("periods", ""),
            "apr_text": apr_text(Decimal(terms.get("apr", "0"))),
            "monthly": terms.get("monthly_payment", ""),
            "total": terms.get("total_cost", ""),
        }
        if "trade_in_credit" not in terms:
            return "installment", values
        parts = _parts(terms)
        down = Decimal(parts["down"] or "0") > 0
        return ("installment_trade_in_down" if down else "installment_trade_in"), values | parts
    if record.kind == OfferKind.TRADE_IN:
        return "trade_in", {
            "seller": terms.get("seller", ""),
            "item": terms.get("name", ""),
            "credit": terms.get("trade_in_credit") or terms.get("old_unit_value", ""),
            "subsidy": terms.get("subsidy", "0.00"),
        }
    if terms.get("points_price"):
        return "points", {"item": terms.get("name", ""), "points": terms["points_price"]}
    if record.kind == OfferKind.SUBSCRIPTION and terms.get("auto_renew") == "true":
        return "subscription", {
            "seller": terms.get("seller", ""),
            "item": terms.get("name", ""),
            "price": terms.get("price", ""),
            "per_period": per_period(int(terms.get("period_months") or 12)),
            "lead": str(lead_days()),
        }
    return "purchase", {
        "seller": terms.get("seller", ""),
        "item": terms.get("name", ""),
        "price": terms.get("price", ""),
    }


def points_refunded(app: ApplicationRecord, record: OfferRecord) -> int:
    """The points a cancellation credited back: a points-paid application that had been confirmed
    (and so debited); 0 otherwise."""
    raw = record.terms.get("points_price") or ""
    return int(raw) if raw.isdigit() and app.confirmed_at is not None else 0


def _parts(terms: Mapping[str, str]) -> dict[str, str]:
    return {
        "price": terms.get("price", ""),
        "credit": terms.get("trade_in_credit", ""),
        "subsidy": terms.get("subsidy", ""),
        "down": terms.get("down_payment", "0.00"),
        "principal": terms.get("financed_principal", ""),
    }


def status_card(
    app: ApplicationRecord, record: OfferRecord, title: str, *, phone_only: bool = False
) -> dict[str, Any]:
    """The ``application_status`` card: state, the terms read back, and how to complete it
    (``phone_only``: the amount is above the tenant's out-of-band threshold, QR only)."""
    card: dict[str, Any] = {"type": "application_status", "title": title, **app.as_json()}
    card["terms"] = dict(record.terms)
    if record.apr is not None:
        apr = Decimal(record.terms.get("apr", str(record.apr)))
        card["apr"], card["apr_text"] = str(apr), apr_text(apr)
    card["completion"] = {
        "channels": ["phone"] if phone_only else ["panel", "phone"],
        "qr_endpoint": QR_ENDPOINT.format(offer_id=app.offer_id),
        "voice_binding": False,
    }
    return card
