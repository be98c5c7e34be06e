"""Text normalisation applied to every turn before NLU (typed text and recogniser output alike)."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InputError

MAX_TEXT_CHARS = 500
"""Longest text turn accepted (a spoken sentence is far shorter)."""

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9])\s+(?=[{_CJK}])")
# 嗯呃啊哦噢 never start a word; 额 does (额度, 额外, 金额), so it is a filler only when it stands alone.
_PAUSE = r"[\s,，、。.!！?？]"
_LEADING_FILLERS = re.compile(rf"^(?:(?:[嗯呃啊哦噢]|额+(?={_PAUSE}|[嗯呃啊哦噢]|$)){_PAUSE}*)+")
_TRAILING_FILLERS = re.compile(r"(?:\s*[嗯呃]|\s+额+)+$|^额+$")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), drop control characters, join CJK split by the recogniser."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
    text = _SPACES.sub(" ", text).strip()
    # A bare 嗯 is an answer (assent), not a filler: keep an utterance that is nothing else.
    text = _TRAILING_FILLERS.sub("", _LEADING_FILLERS.sub("", text)).strip() or text
    return _SPACE_BETWEEN_CJK.sub("", text)


def checked_turn_text(raw: object) -> str:
    """Validate and normalise the text of a turn; raise InputError with a Chinese message otherwise."""
    if not isinstance(raw, str):
        raise InputError("请提供文字内容（text）", code="text_required")
    if len(raw) > MAX_TEXT_CHARS:
        raise InputError(f"内容太长了，请控制在{MAX_TEXT_CHARS}字以内", code="text_too_long")
    text = normalize(raw)
    if len(text) > MAX_TEXT_CHARS:  # NFKC turns one 「﷽」 into 18 characters
        raise InputError(f"内容太长了，请控制在{MAX_TEXT_CHARS}字以内", code="text_too_long")
    if not text:
        raise InputError("内容为空，请再说一遍", code="text_empty")
    if text.startswith("/"):
        raise InputError("不支持以“/”开头的指令", code="command_refused")
    return text
