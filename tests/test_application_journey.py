"""The application journey as services: true confirmation channels, history, the outbox written with
the change, partner decisions (forward only, never reviving a cancellation), phone links, invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.errors import NotFoundError, StoreError
from bot.offers import applications, decisions, phone_links
from bot.offers import service as offers
from bot.offers.applications import ApplicationError
from bot.offers.decisions import DecisionRequest
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.invariants import check_all
from bot.store.journey import ApplicationEvent, OutboxMessage, PartnerDecision
from bot.store.ledger import Application
from bot.store.models import DeviceCategory, Household
from bot.topics import application_status
from tests.factories import add_household

T0 = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)
QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={"apr": "0.1303", "monthly_payment": "1072.00", "periods": "12", "partner": "某某消费金融",
           "product": "新风机", "total_cost": "12864.00"},
    explanation="您询问了分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)  # fmt: skip


def _offer(session: Session, hh: int) -> int:
    context = OfferContext(household_id=hh, session_id="s1", topic=None, proactive=False)
    offer = offers.decide(session, context, [QUOTE], T0).offer
    assert offer is not None
    return offer.offer_id


@pytest.fixture
def hh(session: Session) -> int:
    return add_household(session, "张家")


def _started(session: Session, hh: int) -> applications.ApplicationRecord:
    return applications.start(session, _offer(session, hh), hh, T0)


def _decide(session: Session, app_id: int, decision: str, key: str) -> decisions.DecisionOutcome:
    tenant = session.exec(select(Household.tenant_id)).first()
    assert tenant is not None
    request = DecisionRequest(app_id, decisions.Decision(decision), "", key)
    return decisions.apply_decision(session, "demo-lender", tenant, request, T0 + timedelta(hours=1))


def _outbox(session: Session, app_id: int) -> list[tuple[str, str]]:
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.application_id == app_id)).all()
    return [(r.kind, r.idempotency_key) for r in rows]


def test_only_a_panel_or_the_phone_confirms_and_the_channel_is_recorded(session: Session, hh: int) -> None:
    app = _started(session, hh)
    for category in (DeviceCategory.SPEAKER, DeviceCategory.AIR_CONDITIONER):
        with pytest.raises(ApplicationError) as err:
            applications.confirm_channel(category)
        assert err.value.status == 403 and "中控屏" in err.value.message and "手机" in err.value.message
    with pytest.raises(ApplicationError):
        applications.confirm(session, app.offer_id, hh, T0, via="voice")
    assert applications.confirm_channel(DeviceCategory.PANEL) == "panel"
    done = applications.confirm(session, app.offer_id, hh, T0 + timedelta(minutes=1), via="phone")
    assert done.confirmed_via == "phone"
    listed = applications.household_applications(session, hh)[0]
    assert [(h["event"], h["channel"]) for h in listed["history"]] == [
        ("created", "voice"),
        ("confirmed", "phone"),
    ]
    assert listed["partner"] == "某某消费金融" and listed["apr"] == "0.1303" and listed["apr_text"]


def test_confirmation_writes_one_outbox_message_in_the_same_commit(session: Session, hh: int) -> None:
    app = _started(session, hh)
    assert _outbox(session, app.application_id) == []
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    assert _outbox(session, app.application_id) == [
        ("confirmation", f"app-{app.application_id}-confirmation")
    ]
    applications.cancel(session, app.offer_id, hh, T0 + timedelta(days=1), via="panel")
    kinds = sorted(k for k, _ in _outbox(session, app.application_id))
    assert kinds == ["cancellation", "confirmation"]


def test_a_pending_cancellation_tells_no_partner(session: Session, hh: int) -> None:
    app = _started(session, hh)
    applications.cancel(session, app.offer_id, hh, T0, via="voice")
    assert _outbox(session, app.application_id) == []


def test_a_failed_commit_leaves_neither_the_change_nor_its_message(session: Session, hh: int) -> None:
    app = _started(session, hh)
    session.add(
        ApplicationEvent(application_id=10**6, household_id=hh, kind="x", state="x", channel="x", at=T0)
    )
    with pytest.raises((StoreError, IntegrityError)):  # at the autoflush or at the commit
        applications.confirm(session, app.offer_id, hh, T0, via="panel")
    session.rollback()
    assert applications.get(session, app.offer_id, hh).state == "pending"
    assert _outbox(session, app.application_id) == []


def test_decisions_only_move_forward_and_repeat_safely(session: Session, hh: int) -> None:
    app = _started(session, hh)
    assert _decide(session, app.application_id, "approved", "k0").outcome == "not_confirmed"
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    assert _decide(session, app.application_id, "disbursed", "k1").outcome == "out_of_order"
    assert _decide(session, app.application_id, "approved", "k2").outcome == "applied"
    assert _decide(session, app.application_id, "approved", "k2").outcome == "duplicate"
    assert _decide(session, app.application_id, "approved", "k3").outcome == "duplicate"
    assert _decide(session, app.application_id, "declined", "k4").outcome == "out_of_order"
    assert _decide(session, app.application_id, "disbursed", "k5").outcome == "applied"
    assert applications.get(session, app.offer_id, hh).state == "disbursed"
    assert check_all(session) == []


def test_a_decision_never_revives_a_cancelled_application(session: Session, hh: int) -> None:
    app = _started(session, hh)
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    applications.cancel(session, app.offer_id, hh, T0 + timedelta(hours=1), via="phone")
    assert _decide(session, app.application_id, "approved", "late").outcome == "cancelled"
    assert applications.get(session, app.offer_id, hh).state == "cancelled"
    assert check_all(session) == []


def test_an_approved_application_may_still_be_cancelled_inside_the_window(session: Session, hh: int) -> None:
    app = _started(session, hh)
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    _decide(session, app.application_id, "approved", "a")
    assert applications.cancel(session, app.offer_id, hh, T0 + timedelta(days=2)).state == "cancelled"
    other = _started(session, hh)
    applications.confirm(session, other.offer_id, hh, T0, via="panel")
    _decide(session, other.application_id, "declined", "d")
    with pytest.raises(ApplicationError):
        applications.cancel(session, other.offer_id, hh, T0 + timedelta(days=2))


def test_phone_links_are_single_use_short_lived_and_unguessable(session: Session, hh: int) -> None:
    app = _started(session, hh)
    token = phone_links.mint(session, app.application_id, T0)
    session.commit()
    assert len(token) >= 32 and token != phone_links.mint(session, app.application_id, T0)
    link = phone_links.resolve(session, token, T0 + timedelta(minutes=5))
    assert link.application_id == app.application_id
    with pytest.raises(phone_links.PhoneLinkError) as expired:
        phone_links.resolve(session, token, T0 + phone_links.LINK_TTL)
    assert expired.value.code == "phone_link_expired" and expired.value.status == 410
    phone_links.use(session, link, T0 + timedelta(minutes=5))
    session.commit()
    with pytest.raises(phone_links.PhoneLinkError) as used:
        phone_links.resolve(session, token, T0 + timedelta(minutes=6))
    assert used.value.code == "phone_link_used"
    with pytest.raises(NotFoundError) as unknown:
        phone_links.resolve(session, "x" * 32, T0)
    assert unknown.value.code == "phone_link_unknown"


def test_the_status_answer_follows_the_current_state(session: Session, hh: int) -> None:
    assert application_status.answer(session, hh, T0).response == "utter_status_none"
    app = _started(session, hh)
    assert application_status.answer(session, hh, T0).response == "utter_status_pending"
    assert application_status.answer(session, hh, T0 + timedelta(days=2)).response == "utter_status_expired"
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    confirmed = application_status.answer(session, hh, T0)
    assert confirmed.response == "utter_status_confirmed" and confirmed.values["partner"] == "某某消费金融"
    tenant = session.exec(select(Household.tenant_id)).first() or ""
    request = DecisionRequest(app.application_id, decisions.Decision.DECLINED, "income", "d1")
    decisions.apply_decision(session, "demo-lender", tenant, request, T0)
    declined = application_status.answer(session, hh, T0)
    assert declined.response == "utter_status_declined" and declined.values["reason"] == "收入证明不足"
    _started(session, hh)
    assert application_status.answer(session, hh, T0).response == "utter_status_pending"


def test_journey_invariants_catch_what_they_guard(session: Session, hh: int) -> None:
    app = _started(session, hh)
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    assert check_all(session) == []
    message = session.exec(select(OutboxMessage)).one()
    session.delete(message)
    row = session.get(Application, app.application_id)
    assert row is not None
    session.add(
        ApplicationEvent(application_id=row.id, household_id=hh, kind="cancelled", state="cancelled",
                         channel="panel", at=T0)
    )  # fmt: skip
    session.add(
        ApplicationEvent(application_id=row.id, household_id=hh, kind="decided", state="approved",
                         channel="partner", at=T0)
    )  # fmt: skip
    pending = _started(session, hh)
    session.add(
        PartnerDecision(application_id=pending.application_id, partner="p", decision="approved",
                        idempotency_key="k", outcome="applied", received_at=T0)
    )  # fmt: skip
    session.commit()
    found = {v.invariant for v in check_all(session)}
    assert found == {
        "one_delivery_per_confirmed_application",
        "no_decision_without_confirmation",
        "no_change_after_cancellation",
    }


def test_a_declined_or_expired_application_cannot_be_cancelled_and_says_why(
    session: Session, hh: int
) -> None:
    app = _started(session, hh)
    applications.confirm(session, app.offer_id, hh, T0, via="panel")
    _decide(session, app.application_id, "declined", "d")
    with pytest.raises(ApplicationError) as closed:
        applications.cancel(session, app.offer_id, hh, T0 + timedelta(hours=2))
    assert closed.value.code == "application_closed"
    stale = _started(session, hh)
    applications.expire_due(session, T0 + timedelta(days=2))
    with pytest.raises(ApplicationError) as expired:
        applications.cancel(session, stale.offer_id, hh, T0 + timedelta(days=2))
    assert expired.value.code == "application_expired"
    assert check_all(session) == []
