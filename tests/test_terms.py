"""「什么意思」 explains the term named, else the first term of the last answer."""

from __future__ import annotations

import yaml

from bot.topics.terms import TERMS, named_term, response_of, term_used


def test_a_named_term_wins() -> None:
    assert named_term("冷静期 是 什么 意思") == "cooling_off"
    assert named_term("手续费是啥") == "fee"
    assert named_term("什么意思") is None


def test_the_first_term_of_the_last_answer() -> None:
    quote = ["新风机分12期，年化利率13.03%，月供300元。", "总计3600元，含手续费200元。"]
    assert term_used(quote) == "apr"
    assert term_used(["总计3600元，含手续费200元。"]) == "total"
    assert term_used(["好的，再见。"]) is None


def test_every_term_has_its_sentence_in_the_domain() -> None:
    with open("domain.yml", encoding="utf-8") as fh:
        responses = yaml.safe_load(fh)["responses"]
    assert all(response_of(t) in responses for t in TERMS)
