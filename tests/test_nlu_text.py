"""Entity annotations follow the text through normalisation (training data is normalised too)."""

from __future__ import annotations

import pytest

from bot.nlu.normalize import normalize
from bot.nlu.text import char_origins, moved_span


@pytest.mark.parametrize(
    ("raw", "mention"),
    [
        ("分 十二 期 每 个 月 多少 钱", "十二 期"),
        ("我 家 冰箱 上个 月 用 了 多少 度", "冰箱"),
        ("嗯 呃 空调 这个 月", "这个 月"),
        ("分１２期", "１２期"),
        ("米家M40 分期", "米家M40"),
        ("科沃斯 地宝T30 Pro 多少钱", "地宝T30 Pro"),
    ],
)
def test_a_mention_is_found_where_the_normalised_text_has_it(raw: str, mention: str) -> None:
    start = raw.index(mention)
    text = normalize(raw)
    span = moved_span(raw, text, start, start + len(mention))
    assert span is not None
    assert text[span[0] : span[1]] == normalize(mention)


def test_every_normalised_character_knows_where_it_came_from() -> None:
    raw = "嗯 分 十二 期"
    origins = char_origins(raw, normalize(raw))
    assert origins is not None
    assert "".join(raw[i] for i in origins) == "分十二期"


def test_a_mention_that_normalisation_removes_is_dropped() -> None:
    raw = "嗯 冰箱"
    assert moved_span(raw, normalize(raw), 0, 1) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("额度是多少", "额度是多少"),
        ("额 额度 是 多少", "额度是多少"),
        ("额外 费用 有 吗", "额外费用有吗"),
        ("首付 金额", "首付金额"),
        ("额 冰箱 用 了 多少 电", "冰箱用了多少电"),
        ("呃额 分期", "分期"),
        ("嗯冰箱用了多少电", "冰箱用了多少电"),
        ("冰箱 额", "冰箱"),
    ],
)
def test_fillers_go_but_words_starting_with_the_same_character_stay(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
