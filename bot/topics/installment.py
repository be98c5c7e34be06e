"""Installment quotes in conversation: the figures a sentence needs, the offer candidate, options.

The spoken order is fixed by the response templates (年化利率 before 月供); this module supplies
the figures as strings (money to cents, APR as percent text from the IRR) and never words them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot.errors import InputError, NotFoundError
from bot.finance.catalog import get_product, quote_for_sku
from bot.finance.installments import apr_text
from bot.finance.quote import InstallmentQuote
from bot.offers.types import Candidate, OfferKind
from bot.store.catalog import Product
from bot.topics.catalog_choice import short_name

LIST_SEPARATOR = "、"


def quote_values(quote: InstallmentQuote, product: Product) -> dict[str, str]:
    """Figures of a quote for the response templates."""
    inst = quote.installment
    return {
        "product": short_name(product),
        "periods": str(inst.periods),
        "apr_text": apr_text(inst.apr),
        "monthly": str(inst.monthly_payment),
        "down": str(quote.down_payment),
        "total": str(quote.total_cost),
        "fees": str(inst.fees_total),
        "partner": quote.partner,
    }


def candidate(
    quote: InstallmentQuote,
    *,
    text: str,
    explanation: str,
    monthly_saving: Decimal | None = None,
    data_scopes: frozenset[str] = frozenset(),
) -> Candidate:
    """The quote as an INSTALLMENT offer candidate: every term as a decimal string."""
    terms = quote_terms(quote)
    if monthly_saving is not None:
        terms["monthly_saving"] = str(monthly_saving)
    inst = quote.installment
    return Candidate(
        kind=OfferKind.INSTALLMENT,
        subject=quote.sku,
        terms=terms,
        explanation=explanation,
        text=text,
        data_scopes=data_scopes,
        topics=frozenset({"ask_installment"}),
        inputs={"sku": quote.sku, "periods": str(inst.periods), "plan_id": quote.plan_id},
    )


def quote_terms(quote: InstallmentQuote) -> dict[str, str]:
    """The terms of a quote as stored in the offer audit (decimal strings)."""
    inst = quote.installment
    terms = {
        "sku": quote.sku,
        "product": quote.product_name,
        "plan_id": quote.plan_id,
        "partner": quote.partner,
        "periods": str(inst.periods),
        "apr": str(inst.apr),
        "down_payment": str(quote.down_payment),
        "monthly_payment": str(inst.monthly_payment),
        "fees_total": str(inst.fees_total),
        "total_cost": str(quote.total_cost),
        "price": str(quote.price),
        "financed_principal": str(quote.principal),
    }
    d = quote.deductions
    if d.present:
        terms |= {
            "trade_in_credit": str(d.trade_in_credit),
            "subsidy": str(d.subsidy),
            "subsidy_source": d.subsidy_source,
            "net_price": str(quote.net_price),
        }
    return terms


def spoken_list(items: Iterable[str]) -> str:
    """Items joined for speech (空调、冰箱)."""
    return LIST_SEPARATOR.join(items)


def spoken_products(options: Sequence[Product], limit: int) -> str:
    """The first ``limit`` products as 「格力一级能效空调3299元」 items."""
    return spoken_list(f"{short_name(p)}{p.price.normalize():f}元" for p in options[:limit])


def apr_by_periods(session: Session, tenant_id: str, sku: str, periods: Sequence[int]) -> str:
    """「3期9.93%、6期13.01%」: the best APR for each period count (for an APR question mid-form)."""
    parts = []
    for n in periods:
        try:
            quote = quote_for_sku(session, tenant_id, sku, n)
        except (InputError, NotFoundError):
            continue
        parts.append(f"{n}期{apr_text(quote.apr)}")
    return spoken_list(parts)


def product_of(session: Session, tenant_id: str, sku: str) -> Product:
    """A catalog product by SKU (NotFoundError when unknown)."""
    return get_product(session, tenant_id, sku)


def terms_values(terms: Mapping[str, Any]) -> dict[str, str]:
    """Figures of an audited installment offer (its stored terms) for the templates."""
    apr = Decimal(str(terms["apr"]))
    return {
        "apr_text": apr_text(apr),
        "fees": str(terms.get("fees_total", "")),
        "total": str(terms.get("total_cost", "")),
        "partner": str(terms.get("partner", "")),
        "monthly": str(terms.get("monthly_payment", "")),
        "down": str(terms.get("down_payment", "")),
        "periods": str(terms.get("periods", "")),
    }
