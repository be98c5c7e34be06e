"""Choosing a catalog product in conversation: options of a category, resolving what was said.

The NLU gives a canonical ``device_type``, a ``brand``, a catalog SKU (``product``) or an
``amount`` in yuan; these pure functions turn that into one product, or the list to choose from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from bot.finance.catalog import finance_plans, products
from bot.finance.quote import ineligibility
from bot.store.catalog import Product

MAX_OPTIONS = 4
"""Products read out at most when asking which one (the card lists them all)."""
_AC_SIZE = re.compile(r"KFR-?(\d{2})", re.IGNORECASE)


@dataclass(frozen=True)
class ProductChoice:
    """What the user's words resolved to: one product, several candidates, or nothing."""

    chosen: Product | None
    options: tuple[Product, ...]


def short_name(product: Product) -> str:
    """A speakable name: brand, energy grade 1 if any, category (格力一级能效空调)."""
    grade = "一级能效" if product.energy_grade == 1 else ""
    return f"{product.brand}{grade}{product.category}"


def same_size(old_model: str, new_model: str) -> bool:
    """Air conditioners replace like for like (KFR-35 by KFR-35); other models always match."""
    old, new = _AC_SIZE.search(old_model), _AC_SIZE.search(new_model)
    return old is None or new is None or old.group(1) == new.group(1)


def to_amount(value: Any) -> Decimal | None:
    """A yuan amount from an entity or slot value, or None when it is not a positive number."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def to_count(value: Any) -> int | None:
    """A whole positive number (periods, years) from an entity or slot value, else None."""
    amount = to_amount(value)
    if amount is None or amount != amount.to_integral_value() or amount > 1000:
        return None
    return int(amount)


def resolve(
    catalog: Sequence[Product],
    *,
    sku: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    amount: Decimal | None = None,
) -> ProductChoice:
    """Narrow the catalog by SKU, category, brand and price said (closest price wins)."""
    by_sku = {p.sku.upper(): p for p in catalog}
    if sku and sku.upper() in by_sku:
        return ProductChoice(by_sku[sku.upper()], ())
    options = [p for p in catalog if category in (None, p.category) and brand in (None, p.brand)]
    if category is None and brand is None:
        return ProductChoice(None, ())
    if amount is not None and options:
        closest = min(options, key=lambda p: (abs(p.price - amount), p.sku))
        return ProductChoice(closest, ())
    if len(options) == 1:
        return ProductChoice(options[0], ())
    return ProductChoice(None, tuple(sorted(options, key=lambda p: (p.price, p.sku))))


def catalog_of(session: Session, tenant_id: str) -> list[Product]:
    """The tenant's products."""
    return products(session, tenant_id)


def periods_available(session: Session, tenant_id: str, product: Product) -> tuple[int, ...]:
    """Period counts some finance plan of the tenant offers for this product, ascending."""
    plans = finance_plans(session, tenant_id)
    return tuple(sorted({p.periods for p in plans if ineligibility(product, p, p.periods) is None}))


def installment_options(
    session: Session, tenant_id: str, category: str | None, brand: str | None
) -> list[Product]:
    """Products of the category and brand (None: any) that some plan can finance, cheapest first."""
    return sorted(
        (
            p
            for p in catalog_of(session, tenant_id)
            if category in (None, p.category)
            and brand in (None, p.brand)
            and periods_available(session, tenant_id, p)
        ),
        key=lambda p: (p.price, p.sku),
    )


def choice_card(options: Sequence[Product], category: str | None) -> dict[str, Any]:
    """The ``product_choice`` card: the products to pick from, with price and grade."""
    return {
        "type": "product_choice",
        "title": category or "",
        "device_type": category,
        "options": [
            {
                "sku": p.sku,
                "name": p.name,
                "short_name": short_name(p),
                "brand": p.brand,
                "price": str(p.price),
                "energy_grade": p.energy_grade,
            }
            for p in options
        ],
        "suggestions": [short_name(p) for p in options[:MAX_OPTIONS]],
    }
