"""Text normalisation applied to every turn before NLU (typed text and recogniser output alike)."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InputError

MAX_TEXT_CHARS = 500
"""Longest text turn accepted (a spoken sentence is far shorter)."""

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9])\s+(?=[{_CJK}])")
_FILLERS = re.compile(r"^(?:[嗯呃额啊哦噢]\s*)+|(?:\s*[嗯呃额])+$")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), drop control characters, join CJK split by the recogniser."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_BETWEEN_CJK.sub("", text)
    return _FILLERS.sub("", text).strip()


def checked_turn_text(raw: object) -> str:
    """Validate and normalise the text of a turn; raise InputError with a Chinese message otherwise."""
    if not isinstance(raw, str):
        raise InputError("请提供文字内容（text）", code="text_required")
    if len(raw) > MAX_TEXT_CHARS:
        raise InputError(f"内容太长了，请控制在{MAX_TEXT_CHARS}字以内", code="text_too_long")
    text = normalize(raw)
    if not text:
        raise InputError("内容为空，请再说一遍", code="text_empty")
    if text.startswith("/"):
        raise InputError("不支持以“/”开头的指令", code="command_refused")
    return text
