"""「我的申请怎么样了」「分期批了吗」 through the action, in a new conversation of the household, not the
one that applied, from the application's current state."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.application_status import ActionApplicationStatus
from actions.commitment import ActionReadBack, ActionStartApplication
from bot.offers import applications, decisions
from bot.offers.decisions import DecisionRequest
from bot.store.db import utcnow
from bot.store.ledger import Application
from tests.dialogue_kit import card_of, names, talk
from tests.test_dialogue_actions import quoted


def _ask(actions_db: Engine) -> tuple[list[str], str, dict[str, object]]:
    said = talk(actions_db, "李家").run(
        ActionApplicationStatus(), "ask_application_status", text="分期批了吗"
    )
    return names(said), "".join(t for r in said for t in r.texts()), card_of(said, "application_status")


def test_the_answer_follows_the_application_on_any_device(actions_db: Engine) -> None:
    assert names(talk(actions_db, "李家").run(ActionApplicationStatus(), "ask_application_status")) == [
        "utter_status_none"
    ]
    chat = quoted(actions_db)
    chat.run(ActionReadBack(), "affirm")  # type: ignore[attr-defined]
    chat.run(ActionStartApplication(), "affirm")  # type: ignore[attr-defined]
    said, text, card = _ask(actions_db)
    assert said == ["utter_status_pending"] and card["state"] == "pending" and "扫码" in text
    with Session(actions_db) as session:
        app = session.exec(select(Application)).one()
        applications.confirm(session, app.offer_id, app.household_id, utcnow(), via="panel")
        said, text, _ = _ask(actions_db)
        assert said == ["utter_status_confirmed"] and "中国建设银行股份有限公司" in text
        request = DecisionRequest(app.id or 0, decisions.Decision.APPROVED, "", "k1")
        decisions.apply_decision(session, "demo-lender", "demo", request, utcnow())
    said, text, card = _ask(actions_db)
    assert said == ["utter_status_approved"] and "已批准" in text and card["state"] == "approved"
