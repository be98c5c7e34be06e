"""Trade-in (以旧换新): the old unit's value by category and age, plus the new unit's subsidy.

The subsidy is the national programme's for the year the new unit is bought (``finance.subsidy``);
a catalog rule says whether the seller passes it on in a category (``subsidy_rate`` > 0) and may
only narrow it further (its own grade, price and cap limits, as localities do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.errors import NotFoundError
from bot.finance.installments import money
from bot.finance.quote import Deductions
from bot.finance.subsidy import national_subsidy
from bot.store.catalog import Product, TradeInRule


class NoSubsidy(StrEnum):
    """Why the new unit gets no subsidy."""

    NO_PROGRAMME = "no_programme"
    NO_NEW_PRODUCT = "no_new_product"
    OTHER_CATEGORY = "other_category"
    GRADE = "grade_not_eligible"
    PRICE = "price_above_limit"
    CATEGORY_NOT_COVERED = "category_not_covered"
    """The year's programme does not cover the category."""
    UNITS = "units_used"


@dataclass(frozen=True)
class TradeInQuote:
    """Old-unit value and subsidy for trading in one device."""

    rule_id: str
    category: str
    old_age_years: int
    old_unit_value: Decimal
    new_sku: str | None
    subsidy: Decimal
    subsidy_source: str
    no_subsidy: NoSubsidy | None
    """Why ``subsidy`` is 0, when it is."""

    @property
    def total(self) -> Decimal:
        """Old-unit value plus subsidy."""
        return self.old_unit_value + self.subsidy


def trade_in_rule(rules: Iterable[TradeInRule], category: str, age_years: int) -> TradeInRule:
    """The rule whose category and age band cover an old unit; NotFoundError if none."""
    for rule in sorted(rules, key=lambda r: (r.category, r.min_age_years)):
        upper = rule.max_age_years
        if (
            rule.category == category
            and rule.min_age_years <= age_years
            and (upper is None or age_years < upper)
        ):
            return rule
    raise NotFoundError(f"{category}暂不支持以旧换新", code="no_trade_in_rule")


def _local_refusal(rule: TradeInRule, product: Product) -> NoSubsidy | None:
    """The seller's own narrower limits (None where the rule sets none)."""
    max_grade = rule.subsidy_max_grade
    if max_grade is not None and (product.energy_grade is None or product.energy_grade > max_grade):
        return NoSubsidy.GRADE
    if rule.subsidy_max_price is not None and product.price > rule.subsidy_max_price:
        return NoSubsidy.PRICE
    return None


def subsidy_for(
    rule: TradeInRule, product: Product | None, purchased_on: date
) -> tuple[Decimal, str, NoSubsidy | None]:
    """The subsidy on the new unit bought on ``purchased_on``, its source, and why none (if so)."""
    none = Decimal("0.00")
    if rule.subsidy_rate <= 0:
        return none, "", NoSubsidy.NO_PROGRAMME
    if product is None:
        return none, "", NoSubsidy.NO_NEW_PRODUCT
    if product.category != rule.category:
        return none, "", NoSubsidy.OTHER_CATEGORY
    national = national_subsidy(product.category, product.energy_grade, money(product.price), purchased_on)
    refusal = NoSubsidy(national.refusal.value) if national.refusal else _local_refusal(rule, product)
    if refusal is not None:
        return none, "", refusal
    cap = None if rule.subsidy_cap is None else money(rule.subsidy_cap)
    amount = national.amount if cap is None else min(national.amount, cap)
    return amount, national.source, None


def trade_in_quote(
    rules: Iterable[TradeInRule],
    *,
    category: str,
    old_age_years: int,
    purchased_on: date,
    new_product: Product | None = None,
) -> TradeInQuote:
    """Quote trading in an old unit (category, full years of age), optionally for a new product
    bought on ``purchased_on`` (the date picks the subsidy programme)."""
    rule = trade_in_rule(rules, category, old_age_years)
    subsidy, source, refusal = subsidy_for(rule, new_product, purchased_on)
    return TradeInQuote(
        rule_id=rule.id,
        category=category,
        old_age_years=old_age_years,
        old_unit_value=money(rule.old_unit_value),
        new_sku=new_product.sku if new_product else None,
        subsidy=subsidy,
        subsidy_source=source,
        no_subsidy=refusal,
    )


def deductions_of(quote: TradeInQuote) -> Deductions:
    """The trade-in as deductions from the new unit's price: the old unit's credit, and the subsidy
    only where the rules granted one (it is 0 otherwise)."""
    return Deductions(
        trade_in_credit=quote.old_unit_value,
        subsidy=quote.subsidy,
        subsidy_source=quote.subsidy_source if quote.subsidy > 0 else "",
    )


def trade_in_card(quote: TradeInQuote, *, offer_id: str | None = None) -> dict[str, Any]:
    """The ``trade_in_quote`` card."""
    return {
        "type": "trade_in_quote",
        "title": f"{quote.category}以旧换新",
        "offer_id": offer_id,
        "device_type": quote.category,
        "old_age_years": quote.old_age_years,
        "old_unit_value": str(quote.old_unit_value),
        "new_sku": quote.new_sku,
        "subsidy": str(quote.subsidy),
        "subsidy_source": quote.subsidy_source,
        "no_subsidy_reason": None if quote.no_subsidy is None else quote.no_subsidy.value,
        "total": str(quote.total),
    }
