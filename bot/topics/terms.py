"""「什么意思」: the finance or energy term just used, explained in one sentence.

The term is the one the user names (「年化利率是什么意思」), else the first one the last answer used.
Each term's sentence is a domain response (``utter_term_<key>``).
"""

from __future__ import annotations

from collections.abc import Iterable

TERMS: dict[str, tuple[str, ...]] = {
    "apr": ("年化利率", "年化", "利率"),
    "fee": ("手续费",),
    "cooling_off": ("冷静期", "可取消", "取消期限", "无理由取消"),
    "monthly": ("月供",),
    "down_payment": ("首付",),
    "total": ("总计", "一共要付"),
    "tiered": ("阶梯电价", "阶梯", "档电价"),
    "points": ("绿色积分", "积分"),
    "warranty": ("延保",),
    "trade_in": ("旧机回收", "旧机抵扣", "回收"),
    "subsidy": ("国家补贴", "补贴"),
}
"""Term key → the words that name it (longer, more specific words first)."""


def named_term(text: str) -> str | None:
    """The term the user's words name, if any."""
    return _first(text.replace(" ", ""))


def term_used(answers: Iterable[str]) -> str | None:
    """The first term in the last answer's sentences (None: it used none)."""
    return _first("".join(answers))


def _first(text: str) -> str | None:
    found = [(text.find(w), key) for key, words in TERMS.items() for w in words if w in text]
    return min(found)[1] if found else None


def response_of(term: str) -> str:
    """The domain response that explains ``term``."""
    return f"utter_term_{term}"
