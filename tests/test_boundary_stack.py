"""The skill's boundary on the real stack (Rasa with the trained model, action server, gateway, DB):
device commands and chatter come back ``handled: false`` and change nothing, a pending confirmation
survives a device command, the consent/application confusion is asked about, and an energy question
about a device stays ours while a command to it does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ConsentEvent
from bot.testing.harness import RunningStack, make_stack

pytestmark = pytest.mark.stack

ZHANG, LI, WANG = "demo-zhang-speaker", "demo-li-speaker", "demo-wang-speaker"
DEVICE_COMMANDS = ("10分钟计时器", "把厨房计时器增加5分钟", "下一曲", "厨房开锁", "把客厅灯关了", "窗帘拉上")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("boundary"))
    running.start()
    yield running
    running.stop()


def turn(stack: RunningStack, token: str, text: str) -> dict[str, Any]:
    status, body = stack.converse(token, text)
    assert status == 200, body
    return body


def spoken(body: dict[str, Any]) -> str:
    return "".join(r["text"] for r in body["replies"])


def cards(body: dict[str, Any]) -> set[str]:
    return {r["card"]["type"] for r in body["replies"] if r["card"]}


def ledger(stack: RunningStack) -> tuple[int, int, int, list[str]]:
    """Offer audit rows, applications, consent events, and the application states."""
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        offers = session.exec(select(func.count()).select_from(OfferAudit)).one()
        consents = session.exec(select(func.count()).select_from(ConsentEvent)).one()
        states = [str(a.state) for a in session.exec(select(Application).order_by(Application.id)).all()]
    engine.dispose()
    return int(offers), len(states), int(consents), states


def test_device_commands_in_an_idle_conversation_are_not_ours_and_change_nothing(stack: RunningStack) -> None:
    before = ledger(stack)
    for text in (*DEVICE_COMMANDS, "继续", "明天会下雨吗"):
        body = turn(stack, LI, text)
        assert body["handled"] is False, (text, body)
        assert body["reason"] in {"device_control", "out_of_scope", "not_awaited"}, (text, body)
        assert cards(body) == set(), (text, body)
    assert turn(stack, LI, "把客厅灯关了")["reason"] == "device_control"
    assert ledger(stack) == before, "no offer, no audit row, no consent or application change"


def test_a_silent_tenant_says_nothing_and_still_reports_the_reason(stack: RunningStack) -> None:
    body = turn(stack, WANG, "把卧室的灯打开")
    assert body["handled"] is False and body["reason"] == "device_control"
    assert body["replies"] == []
    run_end = [e for e in body["events"] if e["type"] == "run-end"]
    assert run_end[-1]["data"] == {"handled": False, "reason": "device_control"}


def test_a_command_to_the_air_conditioner_is_not_ours_a_question_about_its_use_is(
    stack: RunningStack,
) -> None:
    command = turn(stack, ZHANG, "把空调调到26度")
    assert command["handled"] is False and command["reason"] == "device_control"
    question = turn(stack, ZHANG, "空调这个月用了多少电")
    assert question["handled"] is True and "reason" not in question
    assert "energy_usage" in cards(question)


def test_a_device_command_during_a_pending_confirmation_does_not_confirm(stack: RunningStack) -> None:
    quote = turn(stack, LI, "新风机分二十四期月供多少")
    assert quote["handled"] is True and "installment_quote" in cards(quote)
    read_back = turn(stack, LI, "好的")
    assert "年化利率" in spoken(read_back)
    _, apps_before, consents_before, _ = ledger(stack)
    for text in ("继续计时器", "下一曲", "激活派对模式", "恢复TV"):
        body = turn(stack, LI, text)
        assert body["handled"] is False and cards(body) == set(), (text, body)
    _, apps_after, consents_after, _ = ledger(stack)
    assert (apps_after, consents_after) == (apps_before, consents_before), "nothing confirmed"
    confirmed = turn(stack, LI, "继续")  # after the read-back, 「继续」 is a yes
    assert confirmed["handled"] is True and "application_status" in cards(confirmed)
    assert ledger(stack)[3][-1] == "pending"
    about_consent = turn(stack, LI, "我不想授权了 帮我撤销")  # never cancels the application
    assert about_consent["handled"] is True and "application_status" not in cards(about_consent)
    assert ledger(stack)[3][-1] == "pending", "a sentence about consent cancels no application"
    cancelled = turn(stack, LI, "取消刚才的申请")
    assert "application_status" in cards(cancelled) and ledger(stack)[3][-1] == "cancelled"


def test_the_consent_application_confusion_asks_instead_of_acting(stack: RunningStack) -> None:
    before = ledger(stack)
    asked = turn(stack, ZHANG, "我不想分期了 帮我撤销")
    assert asked["handled"] is True
    assert "取消申请" in spoken(asked) and "撤回授权" in spoken(asked), asked
    assert ledger(stack) == before, "no consent withdrawn, no application cancelled"


def test_chatter_and_questions_about_the_world_are_handed_back_with_their_own_reason(
    stack: RunningStack,
) -> None:
    before = ledger(stack)
    for text, reason in (
        ("给我讲个笑话", "chitchat"),
        ("你平时喜欢做什么", "chitchat"),
        ("我今天好累啊", "chitchat"),
        ("天气真好啊", "chitchat"),
        ("明天会下雨吗", "out_of_scope"),
        ("帮我订一张去北京的机票", "out_of_scope"),
    ):
        body = turn(stack, ZHANG, text)
        assert body["handled"] is False and body["reason"] == reason, (text, body)
        assert cards(body) == set() and spoken(body), (text, body)
        run_end = [e for e in body["events"] if e["type"] == "run-end"]
        assert run_end[-1]["data"] == {"handled": False, "reason": reason}
    silent = turn(stack, WANG, "讲个笑话吧")
    assert silent["handled"] is False and silent["reason"] == "chitchat" and silent["replies"] == []
    assert ledger(stack) == before, "no offer, no audit row, no consent or application change"
