"""Validation of catalog rows (one pydantic model per table) and their conversion to table rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from sqlmodel import SQLModel

from bot.store.catalog import (
    FeeStructure,
    FinancePlan,
    InsuranceProduct,
    Product,
    Subscription,
    TradeInRule,
    WarrantyPlan,
    join_list,
)
from bot.store.models import DeviceCategory

_CATEGORIES = frozenset(c.value for c in DeviceCategory)


def _category(value: str) -> str:
    if value not in _CATEGORIES:
        raise ValueError(f"unknown category {value!r} (use one of {'/'.join(sorted(_CATEGORIES))})")
    return value


def _split_cell(value: Any) -> Any:
    """CSV cells hold lists as ``a|b``; JSON gives a list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split("|") if item.strip()]
    return value


def _categories(values: list[str]) -> list[str]:
    for value in values:
        _category(value)
    if len(set(values)) != len(values):
        raise ValueError("a category is listed twice")
    return values


Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Price = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, lt=1, max_digits=8, decimal_places=6)]
Key = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=80)]
LegalName = Annotated[str, Field(min_length=2, max_length=120)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, AfterValidator(_category)]
Categories = Annotated[
    list[str], BeforeValidator(_split_cell), AfterValidator(_categories), Field(min_length=1)
]
Brands = Annotated[list[str], BeforeValidator(_split_cell)]


class CatalogRow(BaseModel):
    """Base of the row models: unknown fields are errors; ``TABLE`` and ``KEY`` name the target."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    TABLE: ClassVar[type[SQLModel]]
    KEY: ClassVar[str] = "id"

    def key(self) -> str:
        """The natural key of the row within a tenant."""
        return str(getattr(self, self.KEY))

    def to_table(self, tenant_id: str) -> SQLModel:
        """The table row for ``tenant_id``."""
        data = {
            name: join_list(value) if isinstance(value, list) else value
            for name, value in self.model_dump().items()
        }
        return self.TABLE(tenant_id=tenant_id, **data)


class ProductRow(CatalogRow):
    """A product."""

    TABLE: ClassVar[type[SQLModel]] = Product
    KEY: ClassVar[str] = "sku"
    sku: Key
    category: Category
    brand: Annotated[str, Field(min_length=1, max_length=40)]
    model: Annotated[str, Field(min_length=1, max_length=60)]
    name: Name
    price: Price
    energy_grade: Annotated[int, Field(ge=1, le=5)] | None = None
    rated_annual_kwh: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=1)] | None = None


class FinancePlanRow(CatalogRow):
    """A finance plan for one period count."""

    TABLE: ClassVar[type[SQLModel]] = FinancePlan
    id: Key
    name: Name
    partner_legal_name: LegalName
    periods: Annotated[int, Field(ge=1, le=60)]
    fee_structure: FeeStructure
    monthly_fee_rate: Annotated[Rate, Field(le=Decimal("0.05"))] = Decimal(0)
    upfront_fee_rate: Annotated[Rate, Field(le=Decimal("0.5"))] = Decimal(0)
    subsidiser: LegalName | None = None
    down_payment_share: Annotated[Decimal, Field(ge=0, lt=1, decimal_places=4)] = Decimal(0)
    min_amount: Price
    max_amount: Price
    eligible_categories: Categories
    eligible_brands: Brands = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        structure, monthly, upfront = (
            self.fee_structure,
            self.monthly_fee_rate,
            self.upfront_fee_rate,
        )
        if structure == FeeStructure.FLAT_MONTHLY and (monthly <= 0 or upfront != 0):
            raise ValueError("flat_monthly needs monthly_fee_rate > 0 and upfront_fee_rate 0")
        if structure == FeeStructure.UPFRONT and (upfront <= 0 or monthly != 0):
            raise ValueError("upfront needs upfront_fee_rate > 0 and monthly_fee_rate 0")
        if structure == FeeStructure.SUBSIDISED_ZERO and (monthly != 0 or upfront != 0):
            raise ValueError("subsidised_zero charges the buyer no fee: both rates must be 0")
        if (structure == FeeStructure.SUBSIDISED_ZERO) != (self.subsidiser is not None):
            raise ValueError("subsidiser is required for subsidised_zero and only for it")
        if self.min_amount > self.max_amount:
            raise ValueError("min_amount is above max_amount")
        if self.min_amount < self.periods:
            raise ValueError("min_amount must be at least 1 yuan per period")
        return self


class WarrantyPlanRow(CatalogRow):
    """An extended warranty plan."""

    TABLE: ClassVar[type[SQLModel]] = WarrantyPlan
    id: Key
    name: Name
    category: Category
    years: Annotated[int, Field(ge=1, le=10)]
    price: Price
    age_loading_rate: Rate = Decimal(0)
    fault_loading_rate: Rate = Decimal(0)
    max_device_age_years: Annotated[int, Field(ge=0, le=30)]
    max_faults: Annotated[int, Field(ge=0, le=100)]
    onsite_fee_covered: bool = True
    coverage: Text
    provider_legal_name: LegalName


def _https(value: str) -> str:
    if not value.startswith("https://") or len(value) <= len("https://"):
        raise ValueError("handoff_url must be an https:// address")
    return value


class InsuranceProductRow(CatalogRow):
    """An insurance product of a licensed insurer (hand-off only)."""

    TABLE: ClassVar[type[SQLModel]] = InsuranceProduct
    id: Key
    name: Name
    insurer_legal_name: LegalName
    categories: Categories
    coverage: Text
    price: Money
    term_months: Annotated[int, Field(ge=1, le=120)] = 12
    handoff_url: Annotated[str, Field(max_length=300), AfterValidator(_https)]


class TradeInRuleRow(CatalogRow):
    """A trade-in rule for one category and age band."""

    TABLE: ClassVar[type[SQLModel]] = TradeInRule
    id: Key
    category: Category
    min_age_years: Annotated[int, Field(ge=0, le=50)]
    max_age_years: Annotated[int, Field(ge=1, le=50)] | None = None
    old_unit_value: Money
    subsidy_rate: Rate = Decimal(0)
    subsidy_cap: Money | None = None
    subsidy_max_grade: Annotated[int, Field(ge=1, le=5)] | None = None
    subsidy_max_price: Price | None = None
    subsidy_source: Annotated[str, Field(max_length=120)] = ""

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.max_age_years is not None and self.max_age_years <= self.min_age_years:
            raise ValueError("max_age_years must be above min_age_years")
        if self.subsidy_rate > 0 and not self.subsidy_source:
            raise ValueError("subsidy_source is required when subsidy_rate > 0")
        return self


class SubscriptionRow(CatalogRow):
    """A maintenance subscription."""

    TABLE: ClassVar[type[SQLModel]] = Subscription
    id: Key
    name: Name
    category: Category | None = None
    service: Text
    price: Price
    period_months: Annotated[int, Field(ge=1, le=60)]
    points_price: Annotated[int, Field(ge=1)] | None = None


ROW_MODELS: dict[str, type[CatalogRow]] = {
    "products": ProductRow,
    "finance_plans": FinancePlanRow,
    "warranty_plans": WarrantyPlanRow,
    "insurance_products": InsuranceProductRow,
    "trade_in_rules": TradeInRuleRow,
    "subscriptions": SubscriptionRow,
}
"""Catalog section name (JSON key, ``--kind``) → row model, in import order."""
