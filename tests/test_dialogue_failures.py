"""No false success: when a write does not commit, the assistant says so and claims nothing."""

from __future__ import annotations

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.commitment import ActionReadBack, ActionStartApplication
from actions.consent import ActionConsentGrant
from actions.installment import ActionInstallmentQuote
from bot.store.ledger import Application, OfferAudit
from tests.dialogue_kit import each_text, names, talk

SUCCESS_WORDS = ("已提交", "已开通", "已生成", "已记", "已取消", "已删除", "已撤回")


def break_writes(engine: Engine, table: str) -> None:
    """Make every insert into ``table`` fail inside the database (as a full disk would)."""
    with engine.begin() as conn:
        body = "SELECT RAISE(ABORT, 'disk full');"
        trigger = f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} BEGIN {body} END"
        conn.execute(text(trigger))


def rows(engine: Engine, model: type[Application] | type[OfferAudit]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_failed_application_write_is_never_reported_as_submitted(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    chat.run(ActionReadBack(), "affirm")
    break_writes(actions_db, "application")
    said = chat.run(ActionStartApplication(), "affirm", text="确认")
    assert names(said) == ["utter_service_error"]
    assert not any(word in t for t in each_text(said) for word in SUCCESS_WORDS)
    assert all(s.card is None for s in said)
    assert rows(actions_db, Application) == 0


def test_a_quote_whose_audit_row_cannot_be_written_is_not_spoken(actions_db: Engine) -> None:
    break_writes(actions_db, "offeraudit")
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    said = chat.run(ActionInstallmentQuote(), "ask_installment")
    assert names(said) == ["utter_service_error"] and rows(actions_db, OfferAudit) == 0


def test_a_failed_consent_write_is_not_acknowledged(actions_db: Engine) -> None:
    break_writes(actions_db, "consentevent")
    said = talk(actions_db, "李家").run(ActionConsentGrant(), "consent_grant", text="可以用我的用电数据")
    assert names(said) == ["utter_service_error"]
