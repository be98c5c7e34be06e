from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.nlu.normalize import MAX_TEXT_CHARS, checked_turn_text, normalize


def test_recogniser_spacing_is_joined_like_typed_text() -> None:
    assert normalize("分 十二 期 每 个 月 多少 钱") == "分十二期每个月多少钱"
    assert normalize("空调 这个 月 用了 12 度") == "空调这个月用了12度"


def test_full_width_forms_become_half_width() -> None:
    assert normalize("分１２期") == "分12期"


def test_latin_words_keep_their_spaces() -> None:
    assert normalize("hello  world") == "hello world"


def test_leading_and_trailing_fillers_are_dropped() -> None:
    assert normalize("嗯 呃 冰箱用了多少电 嗯") == "冰箱用了多少电"


@pytest.mark.parametrize("text", ["/greet", "／greet", '  /ask_energy_usage{"device_type":"空调"}'])
def test_intent_commands_are_refused(text: str) -> None:
    with pytest.raises(InputError) as err:
        checked_turn_text(text)
    assert err.value.code == "command_refused"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "text_required"),
        (12, "text_required"),
        ("   ", "text_empty"),
        ("\u200b\u0000", "text_empty"),
        ("电" * (MAX_TEXT_CHARS + 1), "text_too_long"),
        ("\ufdfa" * 30, "text_too_long"),  # 30 characters NFKC-expand to 540
    ],
)
def test_bad_text_gets_a_clear_code(raw: object, code: str) -> None:
    with pytest.raises(InputError) as err:
        checked_turn_text(raw)
    assert err.value.code == code
    assert err.value.status == 400


def test_a_bare_assent_is_kept_as_the_answer() -> None:
    assert checked_turn_text("嗯") == "嗯"
    assert checked_turn_text(" 嗯 嗯 ") == "嗯嗯"
