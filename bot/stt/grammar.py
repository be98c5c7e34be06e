"""Grammar mode: per-dialogue-state phrase lists generated from the data, fitted to a model's vocabulary.

A closed list (confirm/deny words, the period counts the catalog offers, brand and product names)
cuts misrecognitions when the dialogue expects one of a few answers. Phrases are written naturally
(``分十二期``); :func:`compile_grammar` splits them into the recogniser's words (``分 十二 期``) and
drops what the model cannot say.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum

from sqlmodel import Session

from bot.finance.repo import finance_plans, products
from bot.store.catalog import FinancePlan, Product
from bot.store.models import DeviceCategory
from bot.stt.text import UNKNOWN
from bot.tts.numbers import integer_zh, speakable

_LOGGER = logging.getLogger(__name__)

HasWord = Callable[[str], bool]
"""Whether the recogniser's vocabulary contains a word."""

MAX_WORD_CHARS = 8
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_SEPARATORS = re.compile(r"[\s,，.。、!！?？;；:：()（）/\-_·\"'“”]+")

CONFIRM_PHRASES = ("好的", "好", "是的", "是", "对", "对的", "确认", "确定", "可以", "行", "没问题", "同意")
DENY_PHRASES = ("不用了", "不用", "不要", "不是", "不对", "取消", "算了", "不行", "不需要", "再想想")


class GrammarState(StrEnum):
    """Dialogue states that expect a closed set of answers."""

    CONFIRM = "confirm"
    """Before anything binding: yes or no."""
    PERIODS = "periods"
    """Choosing an installment plan: a period count."""
    PRODUCT = "product"
    """Choosing a product: brand, category or product name."""


def period_phrases(periods: Iterable[int]) -> list[str]:
    """``12`` → 十二期, 分十二期, 十二个月 (and 一年 for whole years)."""
    out: list[str] = []
    for n in sorted(set(periods)):
        words = integer_zh(n)
        out += [f"{words}期", f"分{words}期", f"{words}个月", f"分{words}个月"]
        if n % 12 == 0:
            out.append(f"{'两' if n == 24 else integer_zh(n // 12)}年")
    return out


def catalog_phrases(items: Iterable[Product]) -> list[str]:
    """Brands, categories, brand+category and spoken product names from the catalog."""
    out: list[str] = [str(c) for c in DeviceCategory]
    for product in items:
        out += [product.brand, product.category, f"{product.brand}{product.category}", f"{product.brand}的"]
        out.append(speakable(product.name))
    return out


def phrases_for(
    state: GrammarState | str, items: Sequence[Product], plans: Sequence[FinancePlan]
) -> list[str] | None:
    """The phrase list of a dialogue state, or None (free recognition) for other states."""
    try:
        state = GrammarState(state)
    except ValueError:
        return None
    if state is GrammarState.CONFIRM:
        return [*CONFIRM_PHRASES, *DENY_PHRASES]
    if state is GrammarState.PERIODS:
        return period_phrases(plan.periods for plan in plans)
    return catalog_phrases(items)


def grammar_for_state(session: Session, tenant_id: str, state: GrammarState | str) -> list[str] | None:
    """Phrases for ``state`` from the tenant's catalog (the gateway calls this per turn)."""
    return phrases_for(state, products(session, tenant_id), finance_plans(session, tenant_id))


def segment(token: str, has_word: HasWord, max_chars: int = MAX_WORD_CHARS) -> list[str] | None:
    """Split Chinese text into the fewest vocabulary words, or None when it cannot be said."""
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - max_chars), end):
            head = best[start]
            if head is None or not has_word(token[start:end]):
                continue
            if best[end] is None or len(head) + 1 < len(best[end] or ()):
                best[end] = [*head, token[start:end]]
    return best[-1]


def _words(phrase: str, has_word: HasWord) -> list[str] | None:
    text = unicodedata.normalize("NFKC", phrase).lower()
    words: list[str] = []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        if has_word(token):
            words.append(token)
            continue
        split = segment(token, has_word) if _CJK_ONLY.match(token) else None
        if split is None:
            return None
        words += split
    return words or None


def compile_grammar(phrases: Iterable[str], has_word: HasWord) -> list[str]:
    """Phrases as space-separated vocabulary words (deduplicated), plus the unknown-word token."""
    out: list[str] = []
    dropped: list[str] = []
    for phrase in phrases:
        words = _words(phrase, has_word)
        if words is None:
            dropped.append(phrase)
        elif (joined := " ".join(words)) not in out:
            out.append(joined)
    if dropped:
        _LOGGER.info("grammar: %d phrases not in the model's vocabulary dropped", len(dropped))
    if out and has_word(UNKNOWN):
        out.append(UNKNOWN)
    return out
