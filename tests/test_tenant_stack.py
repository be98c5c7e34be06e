"""Two demo tenants served by one real stack (gateway → Rasa → action server → DB): the same
question gets each tenant's own products, partners, tariff and assistant name."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from bot.testing.harness import RunningStack

pytestmark = pytest.mark.stack

CENT = Decimal("0.01")
TENANTS = {
    "demo-zhang-speaker": {
        "assistant": "小居",
        "brand": "小居",
        "sku": "HAIER-XF-FA350",
        "partner": "中国建设银行股份有限公司",
    },
    "demo-wang-speaker": {
        "assistant": "小智",
        "brand": "智家",
        "sku": "PANA-FY-35ZDP",
        "partner": "中国工商银行股份有限公司",
    },
}


def _turn(shared_stack: RunningStack, token: str, text: str) -> dict[str, Any]:
    status, body = shared_stack.converse(token, text)
    assert status == 200, body
    return body


def _card(body: dict[str, Any], card_type: str) -> dict[str, Any]:
    cards = [r["card"] for r in body["replies"] if r.get("card") and r["card"].get("type") == card_type]
    assert cards, body["replies"]
    return cards[0]


def _text(body: dict[str, Any]) -> str:
    return "".join(r.get("text") or "" for r in body["replies"])


@pytest.mark.parametrize("token", sorted(TENANTS))
def test_the_assistant_introduces_itself_with_the_tenants_name(
    shared_stack: RunningStack, token: str
) -> None:
    want = TENANTS[token]
    hello = _text(_turn(shared_stack, token, "你好"))
    assert want["assistant"] in hello
    other = {t["assistant"] for k, t in TENANTS.items() if k != token}
    assert not any(name in hello for name in other)
    bot = _text(_turn(shared_stack, token, "你是机器人吗"))
    assert want["assistant"] in bot and want["brand"] in bot


@pytest.mark.parametrize("token", sorted(TENANTS))
def test_the_same_installment_question_gets_the_tenants_product_and_lender(
    shared_stack: RunningStack, token: str
) -> None:
    want = TENANTS[token]
    body = _turn(shared_stack, token, "新风机分十二期每个月还多少")
    card = _card(body, "installment_quote")
    assert card["product"]["sku"] == want["sku"]
    assert card["partner"] == want["partner"]
    assert want["partner"] in _text(body)


@pytest.mark.parametrize("token", sorted(TENANTS))
def test_the_same_energy_question_is_priced_with_the_tenants_tariff(
    shared_stack: RunningStack, token: str
) -> None:
    card = _card(_turn(shared_stack, token, "我家上个月用了多少电"), "energy_usage")
    kwh, cost = Decimal(card["kwh"]), Decimal(card["cost"])
    assert kwh > 0
    shanghai_floor = (kwh * Decimal("0.617")).quantize(CENT, ROUND_DOWN)
    if token == "demo-wang-speaker":
        assert cost >= shanghai_floor, "Shanghai tier 1 is 0.617 元/kWh"
    else:
        assert cost < shanghai_floor, "Beijing tier 1 is 0.4883 元/kWh"
