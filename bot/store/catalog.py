"""Catalog tables of a tenant (manufacturer): products, finance plans, warranties, insurance…

Every table is keyed by ``(tenant_id, <natural key>)``: each manufacturer owns its catalog. Money
columns are ``Decimal`` with two places, rates are decimal fractions (``0.006`` = 0.6 %). Category
lists are stored as comma-separated canonical categories (``空调,冰箱``); read them with
:func:`split_list`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlmodel import Field, SQLModel


def split_list(text: str | None) -> tuple[str, ...]:
    """The items of a comma-separated column (empty text gives no items)."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def join_list(items: list[str] | tuple[str, ...]) -> str:
    """Store a list of items as a comma-separated column."""
    return ",".join(items)


class FeeStructure(StrEnum):
    """How a finance plan charges the buyer."""

    FLAT_MONTHLY = "flat_monthly"
    """A fee of ``monthly_fee_rate`` × principal added to every monthly payment."""
    UPFRONT = "upfront"
    """A fee of ``upfront_fee_rate`` × principal taken at the start; repayments carry no fee."""
    SUBSIDISED_ZERO = "subsidised_zero"
    """True 0 interest: the buyer pays only the principal; ``subsidiser`` pays the lender."""


class Product(SQLModel, table=True):
    """A product the tenant sells."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    sku: str = Field(primary_key=True, max_length=40)
    category: str = Field(max_length=20, index=True)
    """A canonical ``DeviceCategory`` value."""
    brand: str = Field(max_length=40)
    model: str = Field(max_length=60)
    name: str = Field(max_length=80)
    price: Decimal = Field(max_digits=12, decimal_places=2)
    energy_grade: int | None = Field(default=None)
    """China energy label grade 1–5; None where the category has no label."""
    rated_annual_kwh: Decimal | None = Field(default=None, max_digits=10, decimal_places=1)
    """Annual consumption on the energy label (or the maker's rating)."""


class FinancePlan(SQLModel, table=True):
    """One installment offer of a licensed lender: one row per period count."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    partner_legal_name: str = Field(max_length=120)
    """The licensed lender (bank or consumer-finance company) as registered."""
    periods: int
    fee_structure: str = Field(max_length=20)
    """A ``FeeStructure`` value."""
    monthly_fee_rate: Decimal = Field(default=Decimal(0), max_digits=8, decimal_places=6)
    upfront_fee_rate: Decimal = Field(default=Decimal(0), max_digits=8, decimal_places=6)
    subsidiser: str | None = Field(default=None, max_length=120)
    """Who pays the lender's fee of a ``subsidised_zero`` plan (the manufacturer)."""
    down_payment_share: Decimal = Field(default=Decimal(0), max_digits=5, decimal_places=4)
    min_amount: Decimal = Field(max_digits=12, decimal_places=2)
    """Smallest amount financed (price minus down payment)."""
    max_amount: Decimal = Field(max_digits=12, decimal_places=2)
    eligible_categories: str = Field(max_length=400)
    """Comma-separated categories the plan applies to."""
    eligible_brands: str = Field(default="", max_length=400)
    """Comma-separated brands the plan is limited to; empty means every brand."""


class WarrantyPlan(SQLModel, table=True):
    """An extended warranty (延保) for one category, priced from device age and fault history."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    category: str = Field(max_length=20, index=True)
    years: int
    """Years of cover added."""
    price: Decimal = Field(max_digits=10, decimal_places=2)
    """Price for a device in its first year without faults."""
    age_loading_rate: Decimal = Field(default=Decimal(0), max_digits=6, decimal_places=4)
    """Price increase per full year of device age (0.1 = +10 % a year)."""
    fault_loading_rate: Decimal = Field(default=Decimal(0), max_digits=6, decimal_places=4)
    """Price increase per fault in the last 12 months."""
    max_device_age_years: int
    """Older devices (in full years) are not eligible."""
    max_faults: int
    """Devices with more faults in the last 12 months are not eligible."""
    onsite_fee_covered: bool = True
    """Whether the on-site (上门) fee is included."""
    coverage: str = Field(max_length=200)
    provider_legal_name: str = Field(max_length=120)
    """Who honours the warranty (and the insurer backing it)."""


class InsuranceProduct(SQLModel, table=True):
    """A licensed insurer's product: explained by the assistant, sold only on the insurer's page."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    insurer_legal_name: str = Field(max_length=120)
    categories: str = Field(max_length=400)
    """Comma-separated categories the product covers."""
    coverage: str = Field(max_length=200)
    price: Decimal = Field(max_digits=10, decimal_places=2)
    """Reference premium, shown for information only."""
    term_months: int = 12
    handoff_url: str = Field(max_length=300)


class TradeInRule(SQLModel, table=True):
    """Value of an old unit of a category in an age band, plus the subsidy on the new unit."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    category: str = Field(max_length=20, index=True)
    min_age_years: int
    """Band start (inclusive), in full years."""
    max_age_years: int | None = None
    """Band end (exclusive); None means no upper limit."""
    old_unit_value: Decimal = Field(max_digits=10, decimal_places=2)
    subsidy_rate: Decimal = Field(default=Decimal(0), max_digits=6, decimal_places=4)
    """0: the seller passes on no subsidy in this category. Otherwise it passes on the national
    programme's subsidy, whose rate, grade rule, cap and price ceiling are those of the year the new
    unit is bought (``bot.finance.subsidy``); the limits below can only narrow it."""
    subsidy_cap: Decimal | None = Field(default=None, max_digits=10, decimal_places=2)
    """A local cap per unit below the programme's; None: the programme's cap only."""
    subsidy_max_grade: int | None = None
    """A local grade rule (1 = only grade 1) on top of the programme's; None: the programme's only."""
    subsidy_max_price: Decimal | None = Field(default=None, max_digits=12, decimal_places=2)
    """A local price ceiling on top of the programme's; None: the programme's only."""
    subsidy_source: str = Field(default="", max_length=120)
    """Who funds the subsidy, e.g. the national trade-in programme or the manufacturer."""


class Subscription(SQLModel, table=True):
    """A maintenance service sold as a subscription, optionally redeemable with green points."""

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    category: str | None = Field(default=None, max_length=20)
    """Device category served; None for whole-home services."""
    service: str = Field(max_length=200)
    price: Decimal = Field(max_digits=10, decimal_places=2)
    period_months: int
    points_price: int | None = None
    """Green points that buy one period; None if not redeemable with points."""
