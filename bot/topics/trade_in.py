"""Trade-in in conversation: the old device's value by its age, the new unit's subsidy, the offer;
and 「旧冰箱换新分期」: the installment on what is left once both credits are netted off the price."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from bot.finance.catalog import products, quote_for_sku, trade_in_rules
from bot.finance.quote import NO_DEDUCTIONS, Deductions, InstallmentQuote
from bot.finance.trade_in import TradeInQuote, deductions_of, trade_in_quote
from bot.household.device_status import DeviceStatus
from bot.offers.types import Candidate, OfferKind
from bot.store.catalog import Product
from bot.topics import installment
from bot.topics.catalog_choice import short_name, to_count

TRADE_IN_SCOPES = frozenset({"device_usage"})
"""The old unit's value depends on its age (purchase date)."""
DEFAULT_PERIODS = 12
"""The installment quoted when a trade-in asks for one without saying how many periods."""
_INSTALLMENT_WORDS = re.compile(r"分期|月供|每个?月(还|付|多少)|分\S{1,4}期")
"""「换新分期」「月供多少」「分十二期」: the household wants the new unit in installments."""


def installment_periods(text: str, periods: str | None) -> int | None:
    """How many periods a trade-in question asks to pay in: the number said, else the default when
    installments are asked for without one; None when the question is not about installments."""
    said = to_count(periods)
    if said is not None:
        return said
    return DEFAULT_PERIODS if _INSTALLMENT_WORDS.search("".join(text.split())) else None


def quote_for_device(
    session: Session,
    tenant_id: str,
    device: DeviceStatus,
    today: date,
    preferred_sku: str | None = None,
) -> tuple[TradeInQuote, Product | None]:
    """Quote trading in ``device`` for the preferred product, else the best-subsidised one, bought
    ``today`` (the household's local date picks the subsidy programme)."""
    rules = trade_in_rules(session, tenant_id, device.category)
    options = products(session, tenant_id, device.category)
    chosen = [p for p in options if p.sku == preferred_sku] or options
    age = device.age_years
    if not chosen:
        return trade_in_quote(rules, category=device.category, old_age_years=age, purchased_on=today), None
    quotes = [
        (
            trade_in_quote(
                rules, category=device.category, old_age_years=age, purchased_on=today, new_product=p
            ),
            p,
        )
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
            "trade_in_credit": str(quote.old_unit_value),
            "subsidy": str(quote.subsidy),
            "subsidy_source": quote.subsidy_source,
            "credit_total": str(quote.total),
            "new_sku": quote.new_sku or "",
            "seller": seller,
        },
        explanation=explanation,
        text=text,
        data_scopes=TRADE_IN_SCOPES,
        topics=frozenset({"ask_trade_in"}),
        inputs={"device_id": str(device.device_id), "age_years": str(device.age_years)},
    )


def netted_quote(
    session: Session, tenant_id: str, quote: TradeInQuote, product: Product, periods: int
) -> InstallmentQuote:
    """The lowest-APR installment on the new unit's price less the old unit's credit and the
    subsidy (where the rules allow it); InputError when no plan finances what is left."""
    return quote_for_sku(session, tenant_id, product.sku, periods, deductions=deductions_of(quote))


def netted_values(netted: InstallmentQuote, product: Product) -> dict[str, str]:
    """Figures of a netted quote for the templates: each part under its own name, then the terms."""
    d = netted.deductions
    return {
        **installment.quote_values(netted, product),
        "price": str(netted.price),
        "credit": str(d.trade_in_credit),
        "subsidy": str(d.subsidy),
        "net_price": str(netted.net_price),
        "principal": str(netted.principal),
    }


def netted_candidate(
    netted: InstallmentQuote, device: DeviceStatus, *, text: str, explanation: str
) -> Candidate:
    """The netted installment as an INSTALLMENT offer: its terms carry every part and the principal."""
    cand = installment.candidate(netted, text=text, explanation=explanation, data_scopes=TRADE_IN_SCOPES)
    inputs = {**cand.inputs, "device_id": str(device.device_id), "age_years": str(device.age_years)}
    return replace(cand, topics=frozenset({"ask_trade_in", "ask_installment"}), inputs=inputs)


def carried_deductions(terms: Mapping[str, str], sku: str) -> Deductions:
    """The credits of a netted installment offer (its audited terms) when the new quote is for the
    same product (「二十四期呢」 after 「旧冰箱换新分期」); none otherwise."""
    if terms.get("sku") != sku or "trade_in_credit" not in terms:
        return NO_DEDUCTIONS
    try:
        credit, subsidy = Decimal(terms["trade_in_credit"]), Decimal(terms.get("subsidy") or "0")
    except InvalidOperation:
        return NO_DEDUCTIONS
    return Deductions(credit, subsidy, terms.get("subsidy_source", ""))
