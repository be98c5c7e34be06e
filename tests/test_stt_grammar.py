"""Grammar mode in the recogniser: a given phrase list fitted to a vocabulary; recogniser output as words."""

from __future__ import annotations

from bot.speech.stt.grammar import compile_grammar, segment
from bot.speech.stt.text import clean_transcript

VOCAB = {
    "分",
    "十二",
    "期",
    "十",
    "二",
    "个",
    "月",
    "一年",
    "好的",
    "不用",
    "了",
    "格力",
    "空调",
    "[unk]",
    "一",
    "年",
}


def has(word: str) -> bool:
    return word in VOCAB


def test_segmentation_prefers_fewest_vocabulary_words() -> None:
    assert segment("分十二期", has) == ["分", "十二", "期"]
    assert segment("格力空调", has) == ["格力", "空调"]
    assert segment("一年", has) == ["一年"]
    assert segment("海尔空调", has) is None


def test_compile_spaces_phrases_drops_unsayable_ones_and_adds_unknown() -> None:
    out = compile_grammar(["分十二期", "分 十二 期", "好的", "海尔", "不用了", "Gree!"], has)
    assert out == ["分 十二 期", "好的", "不用 了", "[unk]"]
    assert compile_grammar(["海尔"], has) == []
    assert "[unk]" not in compile_grammar(["好的"], lambda w: w == "好的")


def test_recogniser_output_keeps_its_words_and_drops_unknown_markers() -> None:
    assert clean_transcript("分 十二 期 [unk]  每 个 月") == "分 十二 期 每 个 月"
    assert clean_transcript("[unk] 好的 [unk]") == "好的"
    assert clean_transcript("[unk]") == ""
