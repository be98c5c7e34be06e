"""Catalog lookups for one tenant, shared by the CLI, the actions and the offer service."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.errors import NotFoundError
from bot.finance.quote import NO_DEDUCTIONS, Deductions, InstallmentQuote, best_quote, quote_installment
from bot.store.catalog import FinancePlan, InsuranceProduct, Product, Subscription, TradeInRule, WarrantyPlan


def get_product(session: Session, tenant_id: str, sku: str) -> Product:
    """A product by SKU; NotFoundError if the tenant has none."""
    product = session.get(Product, {"tenant_id": tenant_id, "sku": sku})
    if product is None:
        raise NotFoundError(f"没有找到商品 {sku}", code="unknown_product")
    return product


def products(session: Session, tenant_id: str, category: str | None = None) -> list[Product]:
    """The tenant's products (of one category), by SKU."""
    query = select(Product).where(Product.tenant_id == tenant_id)
    if category is not None:
        query = query.where(Product.category == category)
    return list(session.exec(query.order_by(Product.sku)))


def get_plan(session: Session, tenant_id: str, plan_id: str) -> FinancePlan:
    """A finance plan by id; NotFoundError if the tenant has none."""
    plan = session.get(FinancePlan, {"tenant_id": tenant_id, "id": plan_id})
    if plan is None:
        raise NotFoundError(f"没有找到分期方案 {plan_id}", code="unknown_plan")
    return plan


def finance_plans(session: Session, tenant_id: str) -> list[FinancePlan]:
    """The tenant's finance plans, by id."""
    query = select(FinancePlan).where(FinancePlan.tenant_id == tenant_id)
    return list(session.exec(query.order_by(FinancePlan.id)))


def quote_for_sku(
    session: Session,
    tenant_id: str,
    sku: str,
    periods: int,
    plan_id: str | None = None,
    deductions: Deductions = NO_DEDUCTIONS,
) -> InstallmentQuote:
    """Quote a product (less any trade-in ``deductions``) over ``periods`` months under ``plan_id``,
    else under the lowest-APR plan."""
    product = get_product(session, tenant_id, sku)
    if plan_id is not None:
        return quote_installment(product, get_plan(session, tenant_id, plan_id), periods, deductions)
    return best_quote(product, finance_plans(session, tenant_id), periods, deductions)


def warranty_plans(session: Session, tenant_id: str, category: str) -> list[WarrantyPlan]:
    """Extended-warranty plans of a category."""
    query = select(WarrantyPlan).where(WarrantyPlan.tenant_id == tenant_id, WarrantyPlan.category == category)
    return list(session.exec(query.order_by(col(WarrantyPlan.years), WarrantyPlan.id)))


def insurance_products(session: Session, tenant_id: str) -> list[InsuranceProduct]:
    """The tenant's insurance products."""
    query = select(InsuranceProduct).where(InsuranceProduct.tenant_id == tenant_id)
    return list(session.exec(query.order_by(InsuranceProduct.id)))


def trade_in_rules(session: Session, tenant_id: str, category: str) -> list[TradeInRule]:
    """Trade-in rules of a category."""
    query = select(TradeInRule).where(TradeInRule.tenant_id == tenant_id, TradeInRule.category == category)
    return list(session.exec(query.order_by(col(TradeInRule.min_age_years))))


def subscriptions(session: Session, tenant_id: str) -> list[Subscription]:
    """The tenant's maintenance subscriptions."""
    query = select(Subscription).where(Subscription.tenant_id == tenant_id)
    return list(session.exec(query.order_by(Subscription.id)))
