"""The wording lives in domain.yml and stays truthful: checks over every template and every quote."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from actions.installment import ActionInstallmentQuote
from bot.finance.catalog import products
from bot.seed.demo import DEMO_TENANT_ID
from bot.topics.catalog_choice import periods_available
from tests.dialogue_kit import FREE_WORDS, ROOT, card_of, domain, each_text, responses, talk

ACTIONS = sorted((ROOT / "actions").glob("*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")
INTEREST_FREE_RESPONSES = {"utter_quote_interest_free", "utter_cost_details_free"}
"""The only templates allowed to claim 0 interest; the actions pick them only when the APR is 0."""
SPOKEN_LIMIT = 60
LONGER_ON_PURPOSE = {"utter_read_back_installment"}
"""The read-back must name seller, item, periods, APR, monthly amount and total in one breath."""


def string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant in a module except docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_actions_pass_no_literal_text() -> None:
    offenders = []
    for path in ACTIONS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            utter = isinstance(node.func, ast.Attribute) and node.func.attr == "utter_message"
            for kw in node.keywords:
                literal = isinstance(kw.value, ast.Constant | ast.JoinedStr)
                if kw.arg == "text" and (utter or literal):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == [], f"text in actions (put the sentence in domain.yml): {offenders}"


def test_actions_hold_no_chinese_sentence() -> None:
    offenders = [
        f"{path.name}:{line}: {value}"
        for path in ACTIONS
        for line, value in string_literals(path)
        if CJK.search(value)
    ]
    assert offenders == [], f"user-facing text in actions: {offenders}"


def test_every_response_an_action_names_exists() -> None:
    named = {
        value
        for path in ACTIONS
        for _, value in string_literals(path)
        if re.fullmatch(r"utter_[a-z_]+", value) and not value.endswith("_")
    }
    prefixes = {
        value
        for path in ACTIONS
        for _, value in string_literals(path)
        if re.fullmatch(r"utter_[a-z_]+_", value)
    }
    assert named - set(domain()["responses"]) == set()
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in domain()["responses"]), prefix


def test_no_template_claims_zero_interest_except_the_zero_apr_ones() -> None:
    claiming = {name for name, texts in responses().items() for t in texts if any(w in t for w in FREE_WORDS)}
    assert claiming <= INTEREST_FREE_RESPONSES


def test_spoken_templates_are_short() -> None:
    too_long = {}
    for name, texts in responses().items():
        for text in texts:
            spoken = re.sub(r"{[^}]+}", "xxxx", text)
            if len(spoken) > SPOKEN_LIMIT and name not in LONGER_ON_PURPOSE:
                too_long[name] = len(spoken)
    assert too_long == {}


def test_variations_of_a_response_use_the_same_values() -> None:
    for name, texts in responses().items():
        fields = {frozenset(re.findall(r"{([^}]+)}", t)) for t in texts}
        assert all(f <= max(fields, key=len) for f in fields), name


def test_every_quote_of_the_catalog_says_zero_interest_only_at_zero_apr(actions_db: Engine) -> None:
    with Session(actions_db) as session:
        offers = [
            (p.sku, n)
            for p in products(session, DEMO_TENANT_ID)
            for n in periods_available(session, DEMO_TENANT_ID, p)
        ]
    assert len(offers) > 20
    free_quotes = 0
    for sku, periods in offers:
        chat = talk(actions_db, "李家")
        chat.slots.update(product=sku, periods=str(periods))
        said = chat.run(ActionInstallmentQuote(), "ask_installment")
        card = card_of(said, "installment_quote")
        texts = list(each_text(said))
        claims = any(w in t for t in texts for w in FREE_WORDS)
        assert claims == (Decimal(card["apr"]) == 0), (sku, periods, texts)
        assert texts[0].index("年化利率") < texts[0].index("月供"), texts[0]
        free_quotes += claims
    assert free_quotes >= 1, "the demo catalog has a true 0-interest plan"
