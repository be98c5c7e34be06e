"""The invariant checker: clean data passes, and each check catches its own crafted violation."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli.main import main
from bot.household import consent
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.invariants import check_all, client_ledger, summary
from bot.store.ledger import Application, OfferAudit
from bot.store.models import Device, Turn
from tests.factories import add_household

T0 = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)
QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={"apr": "0.1303", "monthly_payment": "1072.00", "periods": "12"},
    explanation="您询问了分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)
SAVING = Candidate(
    kind=OfferKind.UPGRADE,
    subject="AC-1",
    terms={"price": "3999.00"},
    explanation="您家空调耗电高",
    text="换一级能效空调每年省三百元",
    data_scopes=frozenset({"energy_data"}),
)


def _device(session: Session, household_id: int) -> int:
    device = Device(
        household_id=household_id,
        category="智能音箱",
        name="客厅音箱",
        brand="小米",
        model="X",
        room="客厅",
        purchased_on=date(2024, 1, 1),
        warranty_until=date(2026, 1, 1),
    )
    session.add(device)
    session.commit()
    assert device.id is not None
    return device.id


def _offer(session: Session, hh: int, cand: Candidate = QUOTE, at: datetime = T0) -> int:
    context = OfferContext(household_id=hh, session_id="s1", topic=None, proactive=False)
    offer = offers.decide(session, context, [cand], at).offer
    assert offer is not None
    return offer.offer_id


def _turn(session: Session, device_id: int, key: str, cards: list[dict[str, Any]], at: datetime) -> None:
    outcome = {"turn_id": key, "replies": [{"text": "好的", "card": c} for c in cards], "events": []}
    session.add(
        Turn(
            device_id=device_id,
            turn_key=key,
            conversation_id="c1",
            created_at=at,
            outcome=json.dumps(outcome),
        )
    )
    session.commit()


def _world(session: Session) -> tuple[int, int, int, int]:
    """Two households with a device each; the first has one honest offer, application and turns."""
    zhang, li = add_household(session, "张家"), add_household(session, "李家")
    dev_zhang, dev_li = _device(session, zhang), _device(session, li)
    offer_id = _offer(session, zhang)
    app = applications.start(session, offer_id, zhang, T0 + timedelta(seconds=1))
    quote = {"type": "installment_quote", "offer_id": str(offer_id)}
    status = {"type": "application_status", **app.as_json()}
    _turn(session, dev_zhang, "t1", [quote], T0 + timedelta(seconds=1))
    _turn(session, dev_zhang, "t2", [status], T0 + timedelta(seconds=2))
    return zhang, li, dev_li, offer_id


def _invariants(session: Session) -> dict[str, int]:
    return summary(check_all(session))


def test_honest_data_has_no_violations(session: Session) -> None:
    zhang, *_ = _world(session)
    consent.grant(session, zhang, "energy_data", channel="voice", notice_version="v1", now=T0)
    _offer(session, zhang, SAVING, T0 + timedelta(minutes=1))
    assert check_all(session) == []


def test_offer_card_without_audit_row_is_caught(session: Session) -> None:
    zhang, _, _, _ = _world(session)
    dev = _device(session, zhang)
    _turn(session, dev, "ghost", [{"type": "installment_quote", "offer_id": "999"}], T0)
    violations = check_all(session)
    assert summary(violations) == {"offer_audited_first": 1}
    assert violations[0].ids == {"turn_id": 3, "offer_id": 999}


def test_audit_row_written_after_the_turn_is_caught(session: Session) -> None:
    zhang, _, _, _ = _world(session)
    late = _offer(session, zhang, QUOTE, T0 + timedelta(hours=1))
    dev = _device(session, zhang)
    _turn(session, dev, "early", [{"type": "installment_quote", "offer_id": str(late)}], T0)
    assert _invariants(session) == {"offer_audited_first": 1}


def test_offer_after_consent_withdrawal_is_caught(session: Session) -> None:
    zhang, *_ = _world(session)
    consent.grant(session, zhang, "energy_data", channel="voice", notice_version="v1", now=T0)
    consent.withdraw(
        session, zhang, "energy_data", channel="voice", notice_version="v1", now=T0 + timedelta(minutes=1)
    )
    row = OfferAudit(
        household_id=zhang,
        session_id="s1",
        kind="upgrade",
        subject="AC-1",
        proactive=False,
        explanation="x",
        data_scopes=["energy_data"],
        text="x",
        created_at=T0 + timedelta(minutes=2),
    )
    session.add(row)
    session.commit()
    assert _invariants(session) == {"no_offer_after_withdrawal": 1}


def test_offer_using_data_never_consented_is_caught(session: Session) -> None:
    _, li, _, _ = _world(session)
    row = OfferAudit(
        household_id=li,
        session_id="s2",
        kind="upgrade",
        subject="AC-1",
        proactive=True,
        explanation="x",
        data_scopes=["device_usage"],
        text="x",
        created_at=T0,
    )
    session.add(row)
    session.commit()
    assert _invariants(session) == {"no_offer_after_withdrawal": 1}


def test_second_application_for_an_offer_is_caught(engine: Engine, session: Session) -> None:
    _world(session)
    with engine.connect() as outside:  # history rows reference the table about to be rebuilt
        outside.exec_driver_sql("PRAGMA foreign_keys=OFF")
        outside.commit()
    with engine.begin() as conn:  # the unique constraint would refuse it: rebuild the table without it
        conn.execute(text("CREATE TABLE app_copy AS SELECT * FROM application"))
        conn.execute(text("DROP TABLE application"))
        conn.execute(text("ALTER TABLE app_copy RENAME TO application"))
        conn.execute(
            text(
                "INSERT INTO application (id, offer_id, household_id, kind, state, created_at, expires_at,"
                " cancel_window_s, cancel_until) SELECT 99, offer_id, household_id, kind, 'pending',"
                " created_at, expires_at, cancel_window_s, cancel_until FROM application"
            )
        )
    session.expire_all()
    assert _invariants(session) == {"one_application_per_offer": 1}


def test_application_of_another_households_offer_is_caught(session: Session) -> None:
    zhang, li, _, _ = _world(session)
    other = _offer(session, zhang)
    now = T0 + timedelta(minutes=5)
    session.add(
        Application(
            offer_id=other,
            household_id=li,
            kind="installment",
            state="pending",
            created_at=now,
            expires_at=now,
            cancel_window_s=60,
            cancel_until=now,
        )
    )
    session.commit()
    assert _invariants(session) == {"one_application_per_offer": 1}


def test_reported_application_that_is_not_stored_is_caught(session: Session) -> None:
    zhang, _, _, offer_id = _world(session)
    dev = _device(session, zhang)
    card = {"type": "application_status", "application_id": 77, "offer_id": offer_id, "state": "pending"}
    _turn(session, dev, "lie", [card], T0 + timedelta(minutes=1))
    assert _invariants(session) == {"no_false_success": 1}


def test_reported_confirmation_the_database_does_not_hold_is_caught(session: Session) -> None:
    zhang, _, _, offer_id = _world(session)
    app = applications.get(session, offer_id, zhang)
    dev = _device(session, zhang)
    card = {"type": "application_status", **app.as_json(), "state": "confirmed"}
    _turn(session, dev, "early-yes", [card], T0 + timedelta(minutes=1))
    assert _invariants(session) == {"no_false_success": 1}


def test_card_with_another_households_offer_is_caught(session: Session) -> None:
    _, _, dev_li, offer_id = _world(session)
    _turn(
        session,
        dev_li,
        "peek",
        [{"type": "installment_quote", "offer_id": str(offer_id)}],
        T0 + timedelta(minutes=1),
    )
    violations = check_all(session)
    assert summary(violations) == {"no_cross_household_data": 1}
    assert violations[0].ids == {"turn_id": 3, "offer_id": offer_id}


def test_card_with_another_households_device_is_caught(session: Session) -> None:
    zhang, _, dev_li, _ = _world(session)
    dev_zhang = _device(session, zhang)
    _turn(session, dev_li, "peek", [{"type": "energy_saving", "device_id": str(dev_zhang)}], T0)
    assert _invariants(session) == {"no_cross_household_data": 1}


def test_duplicate_turn_outcomes_and_missing_constraint_are_caught(engine: Engine, session: Session) -> None:
    _world(session)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE turn_copy AS SELECT * FROM turn"))
        conn.execute(text("DROP TABLE turn"))
        conn.execute(text("ALTER TABLE turn_copy RENAME TO turn"))
        conn.execute(
            text(
                "INSERT INTO turn (id, device_id, turn_key, conversation_id, created_at, outcome)"
                " SELECT 50, device_id, turn_key, conversation_id, created_at, outcome FROM turn WHERE id = 1"
            )
        )
    session.expire_all()
    violations = check_all(session)
    assert summary(violations) == {"one_outcome_per_turn": 2}
    assert {v.detail for v in violations} == {"unique (device_id, turn_key) missing", "2 outcomes"}


def test_unreadable_outcome_is_caught(session: Session) -> None:
    zhang, *_ = _world(session)
    dev = _device(session, zhang)
    session.add(Turn(device_id=dev, turn_key="x", conversation_id="c", created_at=T0, outcome="{oops"))
    session.commit()
    assert _invariants(session) == {"one_outcome_per_turn": 1}


def test_client_ledger_needs_exactly_one_response_per_request() -> None:
    assert client_ledger({"a": 1, "b": 1}, {"a": 1, "b": 1}) == []
    found = client_ledger({"a": 1, "b": 1, "c": 2}, {"a": 2, "c": 1, "d": 1})
    assert {v.ids["request"]: v.detail for v in found} == {
        "a": "sent 1, answered 2",
        "b": "sent 1, answered 0",
        "c": "sent 2, answered 1",
        "d": "sent 0, answered 1",
    }


def test_cli_reports_violations_as_json_with_ids_only(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    from bot.store.db import make_engine
    from bot.store.tables import metadata

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    eng = make_engine(url)
    metadata.create_all(eng)
    with Session(eng, expire_on_commit=False) as sess:
        zhang, *_ = _world(sess)
        assert main_json(monkeypatch, capsys, url) == (0, 0)
        dev = _device(sess, zhang)
        _turn(sess, dev, "ghost", [{"type": "installment_quote", "offer_id": "999"}], T0)
    eng.dispose()
    assert main_json(monkeypatch, capsys, url) == (1, 1)


def main_json(monkeypatch: Any, capsys: Any, url: str) -> tuple[int, int]:
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    code = main(["invariants", "--json"])
    out = capsys.readouterr().out
    assert "张家" not in out and "李家" not in out
    return code, json.loads(out)["count"]
