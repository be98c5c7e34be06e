"""Catalog import and listing: any bad row rejects the whole file, naming row and reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from bot.errors import InputError, NotFoundError
from bot.finance.catalog_io import import_catalog, import_catalog_file, list_catalog
from bot.finance.catalog_parse import CatalogRejected, parse_csv_catalog, parse_json_catalog
from bot.seed.tenants import packaged_catalog
from bot.store.catalog import FinancePlan, Product, TradeInRule
from bot.store.models import Tenant
from tests.factories import load_demo_catalog

PRODUCT = {
    "sku": "T-1",
    "category": "空调",
    "brand": "格力",
    "model": "M1",
    "name": "测试空调",
    "price": "2999.00",
}
PLAN_CSV = (
    "id,name,partner_legal_name,periods,fee_structure,monthly_fee_rate,min_amount,max_amount,eligible_categories\n"
    "b-12,银行分期12期,中国建设银行股份有限公司,12,flat_monthly,0.006,1000,50000,空调|新风机\n"
)


@pytest.fixture
def tenant(session: Session) -> str:
    """Tenant ``demo`` (and an empty tenant ``other``)."""
    for tid in ("demo", "other"):
        session.add(
            Tenant(
                id=tid,
                name=tid,
                brand="海尔",
                assistant_name="小智",
                tariff_yuan_per_kwh=Decimal("0.5"),
            )
        )
    session.flush()
    return "demo"


def _count(session: Session, table: type[Product] | type[FinancePlan] | type[TradeInRule]) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_demo_catalog_imports_every_section(session: Session, tenant: str) -> None:
    load_demo_catalog(session, tenant)
    listed = list_catalog(session, tenant)
    assert list(listed) == [
        "products",
        "finance_plans",
        "warranty_plans",
        "insurance_products",
        "trade_in_rules",
        "subscriptions",
    ]
    assert len(listed["products"]) == 17
    plan = next(p for p in listed["finance_plans"] if p["id"] == "ccb-12")
    assert plan["eligible_categories"][:2] == ["空调", "冰箱"]
    assert Decimal(plan["monthly_fee_rate"]) == Decimal("0.006")


def test_loading_the_demo_catalog_twice_creates_no_duplicates(session: Session, tenant: str) -> None:
    load_demo_catalog(session, tenant)
    first = list_catalog(session, tenant)
    load_demo_catalog(session, tenant)
    assert list_catalog(session, tenant) == first
    assert _count(session, Product) == 17


def test_listing_round_trips_through_import_into_another_tenant(session: Session, tenant: str) -> None:
    load_demo_catalog(session, tenant)
    listed = list_catalog(session, tenant)
    import_catalog(session, "other", parse_json_catalog(json.dumps(listed, ensure_ascii=False)))
    assert list_catalog(session, "other") == listed


def test_reimport_updates_a_changed_price(session: Session, tenant: str) -> None:
    import_catalog(session, tenant, parse_json_catalog(json.dumps({"products": [PRODUCT]})))
    report = import_catalog(
        session,
        tenant,
        parse_json_catalog(json.dumps({"products": [{**PRODUCT, "price": "2799"}]})),
    )
    assert (report.created, report.updated) == ({}, {"products": 1})
    assert session.get(Product, {"tenant_id": tenant, "sku": "T-1"}).price == Decimal("2799")  # type: ignore[union-attr]


def test_csv_with_list_cells_imports(session: Session, tenant: str) -> None:
    import_catalog(session, tenant, parse_csv_catalog(PLAN_CSV, "finance_plans"))
    plan = list_catalog(session, tenant)["finance_plans"][0]
    assert plan["eligible_categories"] == ["空调", "新风机"]
    assert plan["eligible_brands"] == []


def test_one_bad_row_rejects_the_whole_json_file_naming_row_and_reason(
    session: Session, tenant: str, tmp_path: Path
) -> None:
    rows = [PRODUCT, {**PRODUCT, "sku": "T-2"}, {**PRODUCT, "sku": "T-3", "price": "-5"}]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"products": rows}), encoding="utf-8")
    with pytest.raises(CatalogRejected) as err:
        import_catalog_file(session, tenant, path)
    [problem] = err.value.problems
    assert (problem.where, problem.field) == ("products row 3", "price")
    assert "greater than 0" in problem.reason
    assert _count(session, Product) == 0


def test_broken_csv_is_rejected_with_line_numbers_and_nothing_imported(session: Session, tenant: str) -> None:
    text = (
        "sku,category,brand,model,name,price\n"
        "A-1,空调,格力,M,好的一行,3299\n"
        "A-2,风扇,格力,M,坏类目,3299\n"
        "A-3,空调,格力\n"
        'A-4,空调,格力,M,"没有结尾的引号,3299\n'
    )
    with pytest.raises(CatalogRejected) as err:
        import_catalog(session, tenant, parse_csv_catalog(text, "products"))
    where = [(p.where, p.field) for p in err.value.problems]
    assert ("line 3", "category") in where
    assert ("line 4", None) in where
    assert any(p.where == "line 5" and "broken CSV" in p.reason for p in err.value.problems)
    assert _count(session, Product) == 0


def test_csv_header_with_unknown_and_missing_columns_is_rejected() -> None:
    with pytest.raises(CatalogRejected) as err:
        parse_csv_catalog("sku,category,brandd,price\nA,空调,格力,1\n", "products")
    found = {(p.field, p.reason) for p in err.value.problems}
    assert ("brandd", "unknown column") in found
    assert ("name", "missing required column") in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"sku": "A"}]', "expected a JSON object"),
        ('{"products": {"sku": "A"}}', "expected a list of rows"),
        ('{"plans": []}', "unknown section"),
        ('{"products": [1]}', "expected an object"),
        ('{"products": [}', "invalid JSON"),
        ("{}", "no rows to import"),
    ],
)
def test_json_of_the_wrong_shape_is_rejected(text: str, expected: str) -> None:
    with pytest.raises(CatalogRejected) as err:
        parse_json_catalog(text)
    assert any(expected in p.reason for p in err.value.problems)


def test_duplicate_keys_and_overlapping_trade_in_bands_are_rejected() -> None:
    rule = {"category": "空调", "old_unit_value": "100", "min_age_years": 0, "max_age_years": 5}
    catalog = {
        "products": [PRODUCT, PRODUCT],
        "trade_in_rules": [
            {**rule, "id": "a"},
            {**rule, "id": "b", "min_age_years": 4, "max_age_years": None},
        ],
    }
    with pytest.raises(CatalogRejected) as err:
        parse_json_catalog(json.dumps(catalog))
    reasons = [str(p) for p in err.value.problems]
    assert any("products row 2: sku: duplicate 'T-1'" in r for r in reasons)
    assert any("trade_in_rules row 2: min_age_years: age band overlaps" in r for r in reasons)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"fee_structure": "subsidised_zero", "monthly_fee_rate": "0"}, "subsidiser is required"),
        ({"upfront_fee_rate": "0.03"}, "flat_monthly needs"),
        ({"min_amount": "60000"}, "min_amount is above max_amount"),
        ({"min_amount": "5"}, "at least 1 yuan per period"),
        ({"eligible_categories": ["空调", "风扇"]}, "unknown category"),
    ],
)
def test_inconsistent_finance_plans_are_rejected(change: dict[str, object], reason: str) -> None:
    plan = {
        "id": "p",
        "name": "n",
        "partner_legal_name": "中国建设银行股份有限公司",
        "periods": 12,
        "fee_structure": "flat_monthly",
        "monthly_fee_rate": "0.006",
        "min_amount": "1000",
        "max_amount": "50000",
        "eligible_categories": ["空调"],
    }
    with pytest.raises(CatalogRejected) as err:
        parse_json_catalog(json.dumps({"finance_plans": [{**plan, **change}]}))
    assert any(reason in p.reason for p in err.value.problems)


def test_import_for_an_unknown_tenant_is_refused(session: Session) -> None:
    with pytest.raises(NotFoundError):
        import_catalog(session, "nobody", packaged_catalog("demo"))


def test_csv_needs_a_kind_and_other_file_types_are_refused(tmp_path: Path, session: Session) -> None:
    csv_path, txt_path = tmp_path / "p.csv", tmp_path / "p.txt"
    csv_path.write_text(PLAN_CSV, encoding="utf-8")
    txt_path.write_text("x", encoding="utf-8")
    for path in (csv_path, txt_path):
        with pytest.raises(InputError):
            import_catalog_file(session, "demo", path)
