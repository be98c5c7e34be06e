"""Numbered periods people say (最近三天, 十月份) become last_N_days / month_M; numbers that are not
periods (十二期, 两个月的月供) do not."""

from __future__ import annotations

import pytest

from bot.nlu.periods import extract_periods


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("最近三天用了多少电", ["last_3_days"]),
        ("近10天热水器耗电多少", ["last_10_days"]),
        ("过去两周空调用了多少", ["last_14_days"]),
        ("最近一个月电费", ["last_30_days"]),
        ("最近七天", ["last_7_days"]),
        ("十月份电费多少", ["month_10"]),
        ("10月用电", ["month_10"]),
        ("九月的空调", ["month_9"]),
        ("十二月用了多少电", ["month_12"]),
        ("一月份比二月份多吗", ["month_1", "month_2"]),
    ],
)
def test_numbered_periods_are_found(text: str, values: list[str]) -> None:
    assert [p.value for p in extract_periods(text)] == values


@pytest.mark.parametrize(
    "text",
    [
        "新风机分十二期每个月多少钱",
        "这个月用了多少电",
        "上个月月供多少",
        "分12个月",
        "两个月",
        "每月还多少",
        "最近400天",
    ],
)
def test_other_numbers_are_not_periods(text: str) -> None:
    assert extract_periods(text) == []


def test_span_is_the_words_said() -> None:
    [found] = extract_periods("我想看十一月份的电费")
    assert (found.text, found.start, found.end) == ("十一月份", 3, 7)
