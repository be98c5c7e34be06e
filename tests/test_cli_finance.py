"""``bot quote`` and ``bot catalog import/list`` run in-process against a temporary SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store.db import make_engine, session_scope
from bot.store.models import Tenant
from bot.store.tables import metadata

DEMO_FILE = Path(__file__).resolve().parent.parent / "bot" / "seed" / "data" / "demo_catalog.json"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with the schema and tenant ``demo``, named by ``BOT_DATABASE_URL``."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    with session_scope(engine) as session:
        session.add(
            Tenant(
                id="demo",
                name="演示",
                brand="海尔",
                assistant_name="小智",
                tariff_yuan_per_kwh=Decimal("0.4883"),
            )
        )
    engine.dispose()
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    return url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_then_list_prints_the_catalog_as_json(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "catalog", "import", str(DEMO_FILE))
    assert code == 0
    assert "products: 17 created" in out
    code, out, _ = _run(capsys, "catalog", "list", "--json")
    listed = json.loads(out)
    assert code == 0
    assert {k: len(v) for k, v in listed.items()}["products"] == 17
    assert set(listed) == {
        "products",
        "finance_plans",
        "warranty_plans",
        "insurance_products",
        "trade_in_rules",
        "subscriptions",
    }


def test_quote_json_prints_the_golden_installment_card(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "catalog", "import", str(DEMO_FILE))
    code, out, _ = _run(capsys, "quote", "--sku", "HAIER-XF-FA350", "--periods", "12", "--json")
    card = json.loads(out)
    assert code == 0
    assert (card["type"], card["monthly_payment"], card["apr"], card["apr_text"]) == (
        "installment_quote",
        "1072.00",
        "0.1303",
        "13.03%",
    )
    assert card["offer_id"] is None and card["monthly_saving"] is None and card["cancel_until"] is None


def test_quote_with_an_upfront_fee_plan_shows_the_fee(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "catalog", "import", str(DEMO_FILE))
    code, out, _ = _run(
        capsys,
        "quote",
        "--sku",
        "ECOVACS-T30PRO",
        "--periods",
        "12",
        "--plan",
        "msxf-promo-12",
        "--json",
    )
    card = json.loads(out)
    assert code == 0
    assert card["upfront_fee"] == "94.47"  # 3 % of 3,149.10 financed after the 10 % down payment
    assert card["apr_text"] == "5.66%"


def test_readable_quote_states_the_apr_before_the_monthly_amount(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "catalog", "import", str(DEMO_FILE))
    code, out, _ = _run(capsys, "quote", "--sku", "HAIER-XF-FA350", "--periods", "12")
    assert code == 0
    assert out.index("13.03%") < out.index("1072.00")
    assert "中国建设银行股份有限公司" in out
    assert "免息" not in out


def test_broken_csv_fails_clearly_and_imports_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "products.csv"
    bad.write_text(
        "sku,category,brand,model,name,price\nA-1,空调,格力,M,好,3299\nA-2,空调,格力\n",
        encoding="utf-8",
    )
    code, _, err = _run(capsys, "catalog", "import", "--kind", "products", str(bad))
    assert code == 2
    assert "error [catalog_rejected]" in err and "line 3: 3 cells, the header has 6" in err
    _, out, _ = _run(capsys, "catalog", "list", "--json")
    assert json.loads(out)["products"] == []


def test_json_of_the_wrong_shape_fails_clearly(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('[{"sku": "A-1"}]', encoding="utf-8")
    code, _, err = _run(capsys, "catalog", "import", str(bad))
    assert code == 2
    assert "expected a JSON object with keys products" in err


def test_csv_without_kind_and_unknown_sku_fail_with_codes(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("sku\n", encoding="utf-8")
    assert _run(capsys, "catalog", "import", str(path))[2].startswith("error [bad_kind]")
    code, _, err = _run(capsys, "quote", "--sku", "NOPE", "--periods", "12")
    assert code == 2 and "error [unknown_product]" in err
