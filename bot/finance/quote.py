"""Installment quotes for a catalog product under a finance plan; the ``installment_quote`` card.

A trade-in nets its credits off the price first (``Deductions``: the old unit's recycling credit
and the subsidy the rules allow); the down payment, the plan's limits, the schedule and the APR
(by IRR) are then all on what is actually paid and financed, never on the list price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.errors import InputError
from bot.finance.installments import (
    FeeTerms,
    Installment,
    apr_text,
    build_installment,
    is_interest_free,
    money,
)
from bot.store.catalog import FeeStructure, FinancePlan, Product, split_list


@dataclass(frozen=True)
class Deductions:
    """What comes off the price before anything is financed (a trade-in's credits)."""

    trade_in_credit: Decimal = Decimal("0.00")
    """The old unit's recycling value (旧机抵扣)."""
    subsidy: Decimal = Decimal("0.00")
    """The subsidy on the new unit, where the rules allow it (国家补贴)."""
    subsidy_source: str = ""
    """Who funds the subsidy (empty without one)."""

    @property
    def total(self) -> Decimal:
        """Everything taken off the price."""
        return self.trade_in_credit + self.subsidy

    @property
    def present(self) -> bool:
        """True when something is taken off."""
        return self.total > 0


NO_DEDUCTIONS = Deductions()


@dataclass(frozen=True)
class InstallmentQuote:
    """The full terms of buying one product in installments under one plan."""

    sku: str
    product_name: str
    category: str
    price: Decimal
    plan_id: str
    partner: str
    """The lender's legal name."""
    fee_structure: str
    subsidiser: str | None
    down_payment: Decimal
    installment: Installment
    deductions: Deductions = NO_DEDUCTIONS
    """Credits netted off the price before financing (a trade-in); none for a plain purchase."""

    @property
    def net_price(self) -> Decimal:
        """What the buyer pays for the product: the price less the deductions."""
        return self.price - self.deductions.total

    @property
    def principal(self) -> Decimal:
        """The amount actually financed (分期本金): net price less the down payment."""
        return self.installment.principal

    @property
    def apr_exact(self) -> Decimal:
        """Unrounded APR (monthly IRR × 12)."""
        return self.installment.apr_exact

    @property
    def apr(self) -> Decimal:
        """APR as displayed (4 places)."""
        return self.installment.apr

    @property
    def fees_total(self) -> Decimal:
        """Every fee charged over the plan."""
        return self.installment.fees_total

    @property
    def total_cost(self) -> Decimal:
        """Everything the buyer pays: down payment, repayments and upfront fee (= net price + fees)."""
        return self.net_price + self.installment.fees_total


def plan_terms(plan: FinancePlan) -> FeeTerms:
    """The buyer-paid fees of a plan (none for a subsidised 0-interest plan)."""
    if plan.fee_structure == FeeStructure.SUBSIDISED_ZERO:
        return FeeTerms(plan.periods)
    return FeeTerms(plan.periods, Decimal(plan.monthly_fee_rate), Decimal(plan.upfront_fee_rate))


def net_price(product: Product, deductions: Deductions = NO_DEDUCTIONS) -> Decimal:
    """The price less the deductions; InputError ``bad_deductions`` unless something is left to pay."""
    if deductions.trade_in_credit < 0 or deductions.subsidy < 0:
        raise InputError("抵扣金额不能为负", code="bad_deductions")
    net = money(product.price) - deductions.total
    if net <= 0:
        raise InputError("抵扣后没有需要分期的金额", code="bad_deductions")
    return net


def down_payment(product: Product, plan: FinancePlan, deductions: Deductions = NO_DEDUCTIONS) -> Decimal:
    """Down payment of a product under a plan (share of the net price, to the cent)."""
    return money(net_price(product, deductions) * plan.down_payment_share)


def ineligibility(
    product: Product, plan: FinancePlan, periods: int, deductions: Deductions = NO_DEDUCTIONS
) -> str | None:
    """Why the plan cannot finance the product over ``periods`` months (Chinese), or None."""
    if periods != plan.periods:
        return f"该方案只支持{plan.periods}期"
    if product.category not in split_list(plan.eligible_categories):
        return f"该方案不适用于{product.category}"
    brands = split_list(plan.eligible_brands)
    if brands and product.brand not in brands:
        return f"该方案不适用于{product.brand}品牌"
    net = net_price(product, deductions)
    financed = net - down_payment(product, plan, deductions)
    if financed < plan.min_amount:
        return f"分期金额低于该方案最低{plan.min_amount}元"
    if financed > plan.max_amount:
        return f"分期金额超过该方案最高{plan.max_amount}元"
    return None


def quote_installment(
    product: Product, plan: FinancePlan, periods: int, deductions: Deductions = NO_DEDUCTIONS
) -> InstallmentQuote:
    """Quote a product (less ``deductions``) under a plan; InputError ``plan_not_eligible`` if the
    plan does not apply."""
    reason = ineligibility(product, plan, periods, deductions)
    if reason is not None:
        raise InputError(reason, code="plan_not_eligible")
    net = net_price(product, deductions)
    down = down_payment(product, plan, deductions)
    return InstallmentQuote(
        sku=product.sku,
        product_name=product.name,
        category=product.category,
        price=money(product.price),
        plan_id=plan.id,
        partner=plan.partner_legal_name,
        fee_structure=plan.fee_structure,
        subsidiser=plan.subsidiser if plan.fee_structure == FeeStructure.SUBSIDISED_ZERO else None,
        down_payment=down,
        installment=build_installment(net - down, plan_terms(plan)),
        deductions=deductions,
    )


def best_quote(
    product: Product, plans: list[FinancePlan], periods: int, deductions: Deductions = NO_DEDUCTIONS
) -> InstallmentQuote:
    """The quote with the lowest APR (then total cost, then plan id) among the plans that apply."""
    quotes = [
        quote_installment(product, plan, periods, deductions)
        for plan in plans
        if ineligibility(product, plan, periods, deductions) is None
    ]
    if not quotes:
        offered = sorted(
            {p.periods for p in plans if ineligibility(product, p, p.periods, deductions) is None}
        )
        choices = f"，可选{'/'.join(str(n) for n in offered)}期" if offered else ""
        raise InputError(f"{product.name}暂无{periods}期分期方案{choices}", code="no_plan")
    return min(quotes, key=lambda q: (q.apr_exact, q.total_cost, q.plan_id))


def _cash(value: Decimal) -> str:
    return str(money(value))


def _when(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _schedule(quote: InstallmentQuote) -> list[dict[str, Any]]:
    return [
        {
            "period": row.period,
            "principal": _cash(row.principal),
            "fee": _cash(row.fee),
            "payment": _cash(row.payment),
            "remaining": _cash(row.remaining),
        }
        for row in quote.installment.schedule
    ]


def trade_in_parts(quote: InstallmentQuote) -> dict[str, str]:
    """The parts of a netted price, each under its own name (价格 / 旧机抵扣 / 国家补贴 / 分期本金)."""
    d = quote.deductions
    return {
        "price": _cash(quote.price),
        "trade_in_credit": _cash(d.trade_in_credit),
        "subsidy": _cash(d.subsidy),
        "subsidy_source": d.subsidy_source,
        "net_price": _cash(quote.net_price),
        "down_payment": _cash(quote.down_payment),
        "principal": _cash(quote.principal),
    }


def installment_card(
    quote: InstallmentQuote,
    *,
    offer_id: str | None = None,
    monthly_saving: Decimal | None = None,
    cancel_until: date | datetime | None = None,
) -> dict[str, Any]:
    """The ``installment_quote`` card of CONTRACTS.md §4 (plus ``upfront_fee`` and ``schedule``)."""
    inst = quote.installment
    card: dict[str, Any] = {
        "type": "installment_quote",
        "title": f"{quote.product_name} · {inst.periods}期",
        "offer_id": offer_id,
        "product": {"sku": quote.sku, "name": quote.product_name, "price": _cash(quote.price)},
        "partner": quote.partner,
        "plan_id": quote.plan_id,
        "fee_structure": quote.fee_structure,
        "periods": inst.periods,
        "apr": str(inst.apr),
        "apr_text": apr_text(inst.apr),
        "interest_free": is_interest_free(quote),
        "down_payment": _cash(quote.down_payment),
        "monthly_payment": _cash(inst.monthly_payment),
        "fees_total": _cash(inst.fees_total),
        "total_cost": _cash(quote.total_cost),
        "monthly_saving": None if monthly_saving is None else _cash(monthly_saving),
        "cancel_until": _when(cancel_until),
        "principal": _cash(inst.principal),
        "schedule": _schedule(quote),
    }
    if quote.deductions.present:
        card["trade_in"] = trade_in_parts(quote)
    if inst.upfront_fee > 0:
        card["upfront_fee"] = _cash(inst.upfront_fee)
    if quote.subsidiser:
        card["subsidised_by"] = quote.subsidiser
    return card
