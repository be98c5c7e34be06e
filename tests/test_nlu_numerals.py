"""The numeral normaliser: every spoken/typed form of CONTRACTS.md §2, ambiguities and junk."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.nlu.normalize import normalize
from bot.nlu.numerals import extract_numbers, parse_number


def found(text: str) -> list[tuple[str, int | float]]:
    return [(n.entity, n.value) for n in extract_numbers(normalize(text))]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十二", 12),
        ("二十四", 24),
        ("三十六", 36),
        ("一百五", 150),
        ("一千二", 1200),
        ("三千六", 3600),
        ("三千六百", 3600),
        ("三千零六", 3006),
        ("两千", 2000),
        ("一万二", 12000),
        ("一万二千", 12000),
        ("两万五千三百", 25300),
        ("一亿二千万", 120_000_000),
        ("12", 12),
        ("1.5万", 15000),
        ("1万2", 12000),
        ("3千6", 3600),
        ("一二", 12),
        ("幺二", 12),
    ],
)
def test_numerals_in_every_script_parse_to_their_value(text: str, value: int) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(
    "junk", ["", "  ", "十十", "二三百", "万", "千万", "百", "一万万", "三千三千", "abc", "十二期"]
)
def test_malformed_numerals_are_rejected_not_guessed(junk: str) -> None:
    assert parse_number(junk) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十二期", [("periods", 12)]),
        ("12期", [("periods", 12)]),
        ("１２期", [("periods", 12)]),
        ("分 十二 期 每 个 月 多少 钱", [("periods", 12)]),
        ("分一年", [("periods", 12)]),
        ("一年期的分期", [("periods", 12)]),
        ("分期一年每个月还多少", [("periods", 12)]),
        ("分两年的话月供多少", [("periods", 24)]),
        ("分六个月", [("periods", 6)]),
        ("分期12个月", [("periods", 12)]),
        ("三年延保", [("years", 3)]),
        ("延保3年多少钱", [("years", 3)]),
        ("三年的", [("years", 3)]),
        ("两年", [("years", 2)]),
        ("三千六", [("amount", 3600)]),
        ("一万二", [("amount", 12000)]),
        ("两千块", [("amount", 2000)]),
        ("3000块钱", [("amount", 3000)]),
        ("预算五千", [("amount", 5000)]),
        ("3299.5元", [("amount", 3299.5)]),
        ("一万二分十二期", [("amount", 12000), ("periods", 12)]),
        ("12000分12期", [("amount", 12000), ("periods", 12)]),
        ("首付两千块剩下分二十四期", [("amount", 2000), ("periods", 24)]),
    ],
)
def test_colloquial_mentions_get_canonical_values(text: str, expected: list[tuple[str, int]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十期", [("periods", 10)]),
        ("四期", [("periods", 4)]),
        ("一千二", [("amount", 1200)]),
        ("一万二", [("amount", 12000)]),
        ("分三年", [("periods", 36)]),
        ("延保三年", [("years", 3)]),
    ],
)
def test_easily_confused_forms_stay_distinct(text: str, expected: list[tuple[str, int]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "每个月还多少",
        "分二十四期一个月要还多少",  # only the 24
        "这个月用了三百度电",
        "空调调到26度",
        "海尔470升冰箱",
        "1.5匹的空调",
        "米家M40",
        "云台版2K",
        "2014年买的冰箱",
        "冰箱用了十年了",
        "去年一年的电费",
        "换个新冰箱一年能省多少电",
        "百分之十三",
        "千万别再推荐了",
        "万一坏了怎么办",
        "每一期多少钱",
        "第一期什么时候还",
        "3000积分能换什么",
        "一级能效",
    ],
)
def test_numbers_that_are_not_periods_years_or_amounts_are_left_alone(text: str) -> None:
    assert [e for e in found(text) if e != ("periods", 24)] == []


@pytest.mark.parametrize(
    "junk", ["", "期", "期期期", "年年", "块", "十十期", "万万块", "零期", "一百期", "九十九年", "🙂"]
)
def test_junk_yields_nothing(junk: str) -> None:
    assert found(junk) == []


def test_spans_point_at_the_mention_in_the_text() -> None:
    text = "一万二分十二期"
    spans = [(n.text, text[n.start : n.end]) for n in extract_numbers(text)]
    assert spans == [("一万二", "一万二"), ("十二期", "十二期")]
