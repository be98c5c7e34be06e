"""The conversation-test format: parsing, and each expectation failing when the reply breaks it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import InputError
from bot.studio.cases import check_turn, parse_cases

QUOTE = {
    "replies": [
        {
            "text": "海尔新风机分12期，年化利率13.03%，月供1072.00元。",
            "card": {"type": "installment_quote", "apr": "0.1303", "product": {"sku": "HAIER-XF-FA350"}},
        },
        {"text": "需要帮您申请吗？", "card": None},
    ]
}
STATE = {"application": "none", "consents": {"energy_data": True, "device_usage": False}, "points": 0}


def one_turn(turn: str) -> Any:
    doc = f"cases:\n  - name: t\n    device: {{household: 李家}}\n    turns:\n      - {turn}\n"
    return parse_cases(doc)[0].turns[0]


def failures(turn: str, body: dict[str, Any] = QUOTE, state: dict[str, Any] = STATE) -> tuple[str, ...]:
    return check_turn(one_turn(turn), body, state).failures


def test_a_matching_turn_passes() -> None:
    turn = (
        '{user: x, says: ["年化利率13.03%", "申请"], not_says: [免息], in_order: [年化利率, 月供],'
        " card: {type: installment_quote, apr: '0.1303', product.sku: HAIER-XF-FA350},"
        " state: {application: none, consents: {energy_data: true}}}"
    )
    assert failures(turn) == ()


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        ("{user: x, says: [免息]}", "says '免息'"),
        ("{user: x, not_says: [月供]}", "does not say '月供'"),
        ("{user: x, in_order: [月供, 年化利率]}", "in this order"),
        ("{user: x, card: {type: warranty_offer}}", "shows a warranty_offer card"),
        ("{user: x, card: {type: installment_quote, apr: '0.1'}}", "apr is '0.1' (got '0.1303')"),
        ("{user: x, no_card: true}", "shows no card"),
        ("{user: x, state: {application: pending}}", "state application is 'pending'"),
        ("{user: x, state: {consents: {device_usage: true}}}", "consent device_usage is granted"),
        ("{user: x, card: {type: installment_quote}, card_said: [apr]}", "says the card's apr"),
    ],
)
def test_each_expectation_fails_when_the_reply_breaks_it(turn: str, expected: str) -> None:
    assert any(expected in f for f in failures(turn)), failures(turn)


def test_alternatives_cover_response_variations() -> None:
    assert failures("{user: x, says: ['要不要帮您|需要帮您']}") == ()


def test_monthly_before_apr_breaks_the_rule_on_every_turn() -> None:
    body = {"replies": [{"text": "月供100元，年化利率5%", "card": None}]}
    assert any("年化利率" in f for f in failures("{user: x}", body))


def test_free_words_without_a_zero_apr_break_the_rule() -> None:
    body = {"replies": [{"text": "分12期免息，年化利率13.03%", "card": None}]}
    assert any("免息" in f for f in failures("{user: x}", body))
    zero = {"replies": [{"text": "年化利率0%，真免息", "card": None}]}
    assert failures("{user: x}", zero) == ()


def test_handled_is_checked_only_when_the_gateway_reports_it() -> None:
    assert failures("{user: x, handled: false}") == ()
    assert failures("{user: x, handled: false}", {**QUOTE, "handled": True})


def test_a_reason_means_not_handled_for_that_reason() -> None:
    declined = {"replies": [], "handled": False, "reason": "out_of_scope"}
    assert failures("{user: x, reason: out_of_scope}", declined) == ()
    assert failures("{user: x, reason: chitchat}", declined) == ("reason is chitchat (got 'out_of_scope')",)
    assert any(
        "handled is False" in f for f in failures("{user: x, reason: chitchat}", {**QUOTE, "handled": True})
    )
    with pytest.raises(InputError, match="reason"):
        one_turn("{user: x, reason: chitchat, handled: true}")


@pytest.mark.parametrize(
    "doc",
    [
        "cases: nope",
        "cases:\n  - name: a\n    turns: [{user: x}]\n",
        "cases:\n  - name: a\n    device: {household: 李家, kind: toaster}\n    turns: [{user: x}]\n",
        "cases:\n  - name: a\n    device: {household: 李家}\n    turns: [{user: x, sayz: [y]}]\n",
        "cases:\n  - name: a\n    device: {household: 李家}\n    given: {points: -1}\n    turns: [{user: y}]",
        "cases:\n  - name: a\n    device: {household: 李家}\n    turns: [{user: x, card: {apr: 1}}]",
    ],
)
def test_a_malformed_case_is_refused_with_its_name(doc: str) -> None:
    with pytest.raises(InputError):
        parse_cases(doc, "bad.yml")
