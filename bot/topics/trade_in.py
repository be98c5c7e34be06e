"""Trade-in in conversation: the old device's value by its age, the new unit's subsidy, the offer."""

from __future__ import annotations

from sqlmodel import Session

from bot.finance.catalog import products, trade_in_rules
from bot.finance.trade_in import TradeInQuote, trade_in_quote
from bot.household.device_status import DeviceStatus
from bot.offers.types import Candidate, OfferKind
from bot.store.catalog import Product
from bot.topics.catalog_choice import short_name

TRADE_IN_SCOPES = frozenset({"device_usage"})
"""The old unit's value depends on its age (purchase date)."""


def quote_for_device(
    session: Session, tenant_id: str, device: DeviceStatus, preferred_sku: str | None = None
) -> tuple[TradeInQuote, Product | None]:
    """Quote trading in ``device`` for the preferred product, else the best-subsidised one."""
    rules = trade_in_rules(session, tenant_id, device.category)
    options = products(session, tenant_id, device.category)
    chosen = [p for p in options if p.sku == preferred_sku] or options
    if not chosen:
        return trade_in_quote(rules, category=device.category, old_age_years=device.age_years), None
    quotes = [
        (trade_in_quote(rules, category=device.category, old_age_years=device.age_years, new_product=p), p)
        for p in chosen
    ]
    best_quote, best_product = max(quotes, key=lambda qp: (qp[0].subsidy, -qp[1].price, qp[1].sku))
    return best_quote, best_product


def trade_in_values(quote: TradeInQuote, device: DeviceStatus, product: Product | None) -> dict[str, str]:
    """Figures for the response templates."""
    return {
        "device": device.name,
        "age": str(device.age_years),
        "old_value": str(quote.old_unit_value),
        "product": short_name(product) if product else "",
        "subsidy": str(quote.subsidy),
        "subsidy_source": quote.subsidy_source,
        "total": str(quote.total),
    }


def trade_in_candidate(
    quote: TradeInQuote, device: DeviceStatus, *, seller: str, item: str, text: str, explanation: str
) -> Candidate:
    """A TRADE_IN offer computed from the device's age (device-usage consent)."""
    return Candidate(
        kind=OfferKind.TRADE_IN,
        subject=quote.rule_id,
        terms={
            "rule_id": quote.rule_id,
            "name": item,
            "old_unit_value": str(quote.old_unit_value),
            "subsidy": str(quote.subsidy),
            "new_sku": quote.new_sku or "",
            "price": str(quote.total),
            "seller": seller,
        },
        explanation=explanation,
        text=text,
        data_scopes=TRADE_IN_SCOPES,
        topics=frozenset({"ask_trade_in"}),
        inputs={"device_id": str(device.device_id), "age_years": str(device.age_years)},
    )
