"""``bot quote`` and ``bot catalog import/list``: installment quotes and the tenant catalog."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TypeVar

from bot.cli.progress import progress_view
from bot.config import Config
from bot.finance.catalog import quote_for_sku
from bot.finance.catalog_io import import_catalog, list_catalog
from bot.finance.catalog_parse import read_catalog_file
from bot.finance.catalog_rows import ROW_MODELS
from bot.finance.quote import installment_card
from bot.store.db import in_session

DEFAULT_TENANT = "demo"
T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add the ``quote`` and ``catalog`` subcommands."""
    quote = subparsers.add_parser("quote", help="installment quote for a catalog product (APR by IRR)")
    quote.add_argument("--sku", required=True, help="product SKU")
    quote.add_argument("--periods", required=True, type=int, help="number of monthly installments")
    quote.add_argument("--plan", help="finance plan id (default: the lowest-APR plan that applies)")
    quote.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id (default: demo)")
    quote.add_argument("--json", action="store_true", help="print the installment_quote card as JSON")
    quote.set_defaults(handler=_quote)

    catalog = subparsers.add_parser("catalog", help="the tenant's product and offer catalog")
    actions = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="validate and import a .json or .csv file (all or nothing)")
    imp.add_argument("file", type=Path, help="catalog file (.json in the list shape, or .csv)")
    imp.add_argument("--kind", choices=list(ROW_MODELS), help="catalog section of a CSV file")
    imp.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id (default: demo)")
    imp.set_defaults(handler=_import)
    lst = actions.add_parser("list", help="print the catalog")
    lst.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id (default: demo)")
    lst.add_argument("--json", action="store_true", help="print the whole catalog as JSON")
    lst.set_defaults(handler=_list)


def _quote(args: argparse.Namespace, config: Config) -> int:
    quote = in_session(
        config.db_url, lambda s: quote_for_sku(s, args.tenant, args.sku, args.periods, args.plan)
    )
    card = installment_card(quote)
    print(json.dumps(card, ensure_ascii=False, indent=2) if args.json else quote_text(card))
    return 0


def quote_text(card: dict[str, Any]) -> str:
    """A readable quote: the APR comes before any monthly figure."""
    product = card["product"]
    lines = [
        f"{product['name']} ({product['sku']})  价格 price {product['price']} 元",
        f"年化利率 APR (IRR×12): {card['apr_text']}"
        + ("  真免息 interest-free" if card["interest_free"] else ""),
        f"贷款方 lender: {card['partner']}  方案 plan: {card['plan_id']}",
        f"期数 periods: {card['periods']}  首付 down payment: {card['down_payment']} 元",
        f"每期还款 monthly payment: {card['monthly_payment']} 元",
        f"手续费合计 fees: {card['fees_total']} 元  总成本 total cost: {card['total_cost']} 元",
    ]
    if "upfront_fee" in card:
        lines.append(f"其中一次性服务费 upfront fee: {card['upfront_fee']} 元")
    if "subsidised_by" in card:
        lines.append(f"手续费由 {card['subsidised_by']} 承担 (fee paid by the manufacturer)")
    return "\n".join(lines)


def _import(args: argparse.Namespace, config: Config) -> int:
    catalog = read_catalog_file(args.file, args.kind)
    with progress_view() as view:
        report = in_session(config.db_url, lambda s: import_catalog(s, args.tenant, catalog, view))
    print(f"imported {args.file} for tenant {args.tenant}\n{report.summary()}")
    return 0


def _list(args: argparse.Namespace, config: Config) -> int:
    catalog = in_session(config.db_url, lambda s: list_catalog(s, args.tenant))
    if args.json:
        print(json.dumps(catalog, ensure_ascii=False, indent=2))
        return 0
    for kind, rows in catalog.items():
        print(f"{kind} ({len(rows)})")
        for row in rows:
            key = row.get("sku", row.get("id"))
            print(f"  {key}  {row.get('name', row.get('category', ''))}")
    return 0
