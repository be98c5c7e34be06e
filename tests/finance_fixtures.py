"""Finance test helpers: the demo catalog as table rows (no database) and an independent NPV."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Any

from bot.seed.tenants import packaged_catalog
from bot.store.catalog import FinancePlan, Product, WarrantyPlan


def demo_rows(kind: str) -> list[Any]:
    """Table rows of one section of the packaged demo catalog, for tenant ``demo``."""
    return [row.to_table("demo") for row in packaged_catalog("demo")[kind]]


def npv(monthly_rate: Decimal, received: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """Received minus the repayments discounted at ``monthly_rate`` (apart from the engine)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return received - sum(
            (p / (1 + monthly_rate) ** k for k, p in enumerate(payments, start=1)), Decimal(0)
        )


def demo_product(sku: str) -> Product:
    """One demo product."""
    found: Product = next(p for p in demo_rows("products") if p.sku == sku)
    return found


def demo_plan(plan_id: str) -> FinancePlan:
    """One demo finance plan."""
    found: FinancePlan = next(p for p in demo_rows("finance_plans") if p.id == plan_id)
    return found


def demo_warranty(plan_id: str) -> WarrantyPlan:
    """One demo warranty plan."""
    found: WarrantyPlan = next(p for p in demo_rows("warranty_plans") if p.id == plan_id)
    return found
