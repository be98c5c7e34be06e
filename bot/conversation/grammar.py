"""Grammar per dialogue state: the phrases a state expects, from the tenant's catalog and plans.

The conversation layer builds the plain phrase list; the recogniser (:mod:`bot.speech.stt.grammar`)
only fits it to its vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from sqlmodel import Session

from bot.finance.catalog import finance_plans, products
from bot.speech.tts.numbers import integer_zh, speakable
from bot.store.catalog import FinancePlan, Product
from bot.store.models import DeviceCategory

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
