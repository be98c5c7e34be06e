"""Grammar per dialogue state (the phrases come from the tenant's catalog) and what the recogniser heard,
normalised by the conversation as every turn is."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session

from bot.conversation.grammar import GrammarState, grammar_for_state, period_phrases, phrases_for
from bot.conversation.pipeline import normalised
from bot.finance.catalog import finance_plans, products
from bot.speech.stt.stream import SttUpdate
from bot.speech.stt.text import clean_transcript
from bot.speech.tts.numbers import integer_zh
from bot.store.catalog import FinancePlan
from bot.store.models import Tenant
from tests.factories import load_demo_catalog


def test_recogniser_output_is_normalised_for_nlu_by_the_conversation() -> None:
    def heard(raw: str) -> str:
        return normalised([SttUpdate(True, clean_transcript(raw), raw, 0)])[0].text

    assert heard("分 十二 期 每 个 月 多少 钱") == "分十二期每个月多少钱"
    assert heard("额 我 想 问 一下 [unk]") == "我想问一下", "a filler before a pause is dropped"
    assert heard("额度 是 多少") == "额度是多少"
    assert heard("네 좋아요") == "네 좋아요"


def _demo(session: Session) -> None:
    session.add(
        Tenant(
            id="t1",
            name="演示家电",
            brand="演示",
            assistant_name="小居",
            tariff_yuan_per_kwh=Decimal("0.4883"),
        )
    )
    session.commit()
    load_demo_catalog(session, "t1")
    session.commit()


def test_state_phrases_come_from_the_catalog(session: Session) -> None:
    _demo(session)
    plans = finance_plans(session, "t1")
    periods = phrases_for(GrammarState.PERIODS, products(session, "t1"), plans)
    assert periods is not None
    for plan in plans:
        assert f"分{integer_zh(plan.periods)}期" in periods
    assert set(period_phrases([12])) >= {"十二期", "分十二期", "十二个月", "一年"}
    assert "二十四期" in periods and "两年" in periods  # the demo catalog offers 24 periods
    catalog = grammar_for_state(session, "t1", "product")
    assert catalog is not None
    brands = {p.brand for p in products(session, "t1")}
    assert brands <= set(catalog)
    assert not any(ch.isdigit() for phrase in catalog for ch in phrase)  # numbers spoken: 1.5匹 → 一点五匹
    confirm = grammar_for_state(session, "t1", GrammarState.CONFIRM)
    assert confirm is not None and {"好的", "确认", "不用了", "取消"} <= set(confirm)
    assert grammar_for_state(session, "t1", "ask_energy_usage") is None  # free recognition elsewhere


def test_a_new_catalog_changes_the_phrases(session: Session) -> None:
    _demo(session)
    before = grammar_for_state(session, "t1", "periods") or []
    plan = finance_plans(session, "t1")[0]
    session.add(FinancePlan(**{**plan.model_dump(), "id": "custom-18", "periods": 18}))
    session.commit()
    after = grammar_for_state(session, "t1", "periods") or []
    assert "分十八期" in after and "分十八期" not in before
