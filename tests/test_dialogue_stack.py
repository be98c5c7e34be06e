"""The dialogue end to end through the gateway: real Rasa server (trained model), action server, DB."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.finance.installments import apr_from_cash_flows, display_apr
from bot.store.db import make_engine
from bot.store.ledger import Application, OfferAudit
from bot.store.models import Household
from bot.testing.harness import RunningStack, make_stack

pytestmark = pytest.mark.stack

ZHANG, LI = "demo-zhang-speaker", "demo-li-speaker"
FREE_WORDS = ("免息", "零利息", "0利息", "无息", "零息")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("dialogue"))
    running.start()
    yield running
    running.stop()


def say(stack: RunningStack, token: str, text: str) -> list[dict[str, Any]]:
    status, body = stack.converse(token, text)
    assert status == 200, body
    replies: list[dict[str, Any]] = body["replies"]
    return replies


def cards(replies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["card"]["type"]: r["card"] for r in replies if r["card"]}


def spoken(replies: list[dict[str, Any]]) -> str:
    return "".join(r["text"] for r in replies)


def offers_of(stack: RunningStack, household: str) -> list[OfferAudit]:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == household)).one()
        rows = list(session.exec(select(OfferAudit).where(OfferAudit.household_id == home.id)).all())
    engine.dispose()
    return rows


def applications(stack: RunningStack) -> list[Application]:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        rows = list(session.exec(select(Application)).all())
    engine.dispose()
    return rows


def test_consent_missing_then_granted_then_withdrawn(stack: RunningStack) -> None:
    say(stack, ZHANG, "撤回授权")
    asked = say(stack, ZHANG, "换个一级能效的空调能省多少钱")
    assert "consent_request" in cards(asked) and "energy_saving" not in cards(asked)
    assert not any(ch.isdigit() for ch in spoken(asked)), "no figures from the meters before consent"
    before = len(offers_of(stack, "张家"))

    granted = say(stack, ZHANG, "可以用我的用电数据")
    saving = cards(granted)["energy_saving"]
    assert Decimal(saving["money_saved_per_year"]) > 0 and saving["money_saved_per_year"] in spoken(granted)
    assert saving["installment"] and spoken(granted).index("年化利率") < spoken(granted).index("月供")
    rows = offers_of(stack, "张家")
    assert len(rows) == before + 1 and rows[-1].consent_refs, "the offer is audited with its consent"

    say(stack, ZHANG, "撤回授权")
    usage = say(stack, ZHANG, "空调这个月用了多少电")
    assert "energy_usage" in cards(usage), "a plain answer still comes"
    again = say(stack, ZHANG, "空调换新能省多少钱")
    assert "consent_request" in cards(again) and "energy_saving" not in cards(again)
    assert len(offers_of(stack, "张家")) == before + 1, "no offer after withdrawal"
    say(stack, ZHANG, "可以用我的用电数据")


def test_a_household_without_consent_is_asked_and_no_offer_is_recorded(stack: RunningStack) -> None:
    asked = say(stack, LI, "换个一级能效的空调能省多少")
    card = cards(asked)["consent_request"]
    assert card["scopes"][0]["scope"] == "energy_data" and card["withdraw"]
    assert offers_of(stack, "李家") == []
    plain = say(stack, LI, "冰箱上个月用了多少电")
    assert "energy_usage" in cards(plain)


def test_quote_states_the_apr_first_and_its_apr_is_the_irr_of_its_payments(stack: RunningStack) -> None:
    replies = say(stack, LI, "新风机分十二期每个月多少钱")
    card = cards(replies)["installment_quote"]
    first = next(r["text"] for r in replies if r["card"] and r["card"]["type"] == "installment_quote")
    assert first.index("年化利率") < first.index("月供") and card["apr_text"] in first
    received = (
        Decimal(card["product"]["price"])
        - Decimal(card["down_payment"])
        - Decimal(card.get("upfront_fee", "0"))
    )
    payments = [Decimal(row["payment"]) for row in card["schedule"]]
    assert Decimal(card["apr"]) == display_apr(apr_from_cash_flows(received, payments)) == Decimal("0.1303")
    assert not any(w in spoken(replies) for w in FREE_WORDS)
    for part in (card["total_cost"], card["fees_total"], card["partner"]):
        assert part in spoken(replies)


def test_confirm_once_pending_confirm_twice_one_application_then_cancel(stack: RunningStack) -> None:
    quote = say(stack, LI, "新风机分二十四期月供多少")
    offer_id = cards(quote)["installment_quote"]["offer_id"]
    read = say(stack, LI, "好的")
    assert "年化利率" in spoken(read) and cards(read) == {}
    assert not [a for a in applications(stack) if str(a.offer_id) == offer_id], "nothing before confirmation"
    done = say(stack, LI, "确认")
    status = cards(done)["application_status"]
    assert status["state"] == "pending" and str(status["offer_id"]) == offer_id
    assert status["completion"]["voice_binding"] is False
    again = say(stack, LI, "确认")
    assert cards(again)["application_status"]["application_id"] == status["application_id"]
    assert len([a for a in applications(stack) if str(a.offer_id) == offer_id]) == 1
    cancelled = say(stack, LI, "取消刚才的申请")
    assert cards(cancelled)["application_status"]["state"] == "cancelled"


def test_side_question_inside_the_form_is_answered_and_the_form_resumes(stack: RunningStack) -> None:
    asked = say(stack, LI, "我想分期买个空调")
    assert "product_choice" in cards(asked)
    chosen = say(stack, LI, "要格力的")
    assert "期" in spoken(chosen) and "installment_quote" not in cards(chosen)
    side = say(stack, LI, "年化利率是多少")
    assert "%" in spoken(side) and "期" in side[-1]["text"], "answered, then the periods are asked again"
    quote = say(stack, LI, "十二期")
    assert cards(quote)["installment_quote"]["product"]["sku"] == "GREE-KFR35-YJ1"


def test_why_this_offer_and_stop_offers(stack: RunningStack) -> None:
    offered = say(stack, ZHANG, "扫地机器人能买延保吗")
    if "consent_request" in cards(offered):  # device-usage consent was withdrawn earlier
        offered = say(stack, ZHANG, "同意")
    assert "warranty_offer" in cards(offered)
    why = say(stack, ZHANG, "为什么给我推荐这个")
    audit = cards(why)["offer_audit"]
    assert audit["explanation"] in spoken(why) and audit["kind"] == "warranty"
    stopped = say(stack, ZHANG, "别再给我推荐了")
    assert stopped[0]["text"]


def test_bot_challenge_and_out_of_scope(stack: RunningStack) -> None:
    assert "助手" in spoken(say(stack, LI, "你是机器人吗"))
    assert "分期" in spoken(say(stack, LI, "今天天气怎么样"))


def test_an_application_count_never_exceeds_one_per_offer(stack: RunningStack) -> None:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        per_offer = session.exec(
            select(Application.offer_id, func.count()).group_by(Application.offer_id)  # type: ignore[arg-type]
        ).all()
    engine.dispose()
    assert all(count == 1 for _, count in per_offer)
