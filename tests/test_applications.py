"""Applications: pending → confirmed → cancelled/expired, one per offer, cancellation window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from bot.errors import NotFoundError
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.applications import ApplicationError, ApplicationState
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.ledger import Application
from tests.factories import add_household

T0 = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)
QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={"apr": "0.1303", "monthly_payment": "1072.00", "periods": "12"},
    explanation="您询问了分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)


def _household(session: Session, name: str = "张家") -> int:
    return add_household(session, name)


def _offer(session: Session, hh: int, cand: Candidate = QUOTE) -> int:
    context = OfferContext(household_id=hh, session_id="s1", topic=None, proactive=False)
    offer = offers.decide(session, context, [cand], T0).offer
    assert offer is not None
    return offer.offer_id


def _applications(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Application)).one()


@pytest.fixture
def hh(session: Session) -> int:
    """A household."""
    return _household(session)


def test_start_is_pending_with_expiry_and_cancel_window(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    app = applications.start(session, oid, hh, T0, window=timedelta(days=7))
    assert app.state is ApplicationState.PENDING
    assert app.expires_at == T0 + applications.DEFAULT_CONFIRM_WITHIN
    assert app.cancel_until == T0 + timedelta(days=7)


def test_confirming_the_same_offer_twice_creates_one_application(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    first = applications.start(session, oid, hh, T0)
    one = applications.confirm(session, oid, hh, T0 + timedelta(minutes=1))
    again = applications.start(session, oid, hh, T0 + timedelta(minutes=2))
    two = applications.confirm(session, oid, hh, T0 + timedelta(minutes=2))
    assert first.application_id == one.application_id == again.application_id == two.application_id
    assert two.state is ApplicationState.CONFIRMED
    assert two.confirmed_at == T0 + timedelta(minutes=1)  # the second confirm changed nothing
    assert _applications(session) == 1


def test_racing_start_falls_back_to_the_row_the_unique_constraint_kept(
    session: Session, hh: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = _offer(session, hh)
    winner = applications.start(session, oid, hh, T0)
    real_find = applications._find
    looks: list[int] = []

    def stale_find(sess: Session, offer_id: int) -> Application | None:
        looks.append(offer_id)  # the racing writer does not see the winner on its first look
        return None if len(looks) == 1 else real_find(sess, offer_id)

    monkeypatch.setattr(applications, "_find", stale_find)
    loser = applications.start(session, oid, hh, T0)
    assert loser.application_id == winner.application_id
    assert _applications(session) == 1
    assert len(looks) == 2  # the insert collided, then the winner was read


def test_database_refuses_a_second_application_for_an_offer(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0)
    dup = Application(
        offer_id=oid,
        household_id=hh,
        kind="installment",
        state="pending",
        created_at=T0,
        expires_at=T0,
        cancel_window_s=0,
        cancel_until=T0,
    )
    session.add(dup)
    with pytest.raises(IntegrityError):
        session.commit()


def test_confirm_after_expiry_fails_and_marks_expired(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0, confirm_within=timedelta(minutes=30))
    with pytest.raises(ApplicationError) as err:
        applications.confirm(session, oid, hh, T0 + timedelta(minutes=31))
    assert err.value.code == "application_expired"
    assert applications.get(session, oid, hh).state is ApplicationState.EXPIRED


def test_voice_alone_cannot_confirm(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0)
    with pytest.raises(ApplicationError) as err:
        applications.confirm(session, oid, hh, T0, via="voice")
    assert err.value.code == "confirm_out_of_band"
    assert applications.get(session, oid, hh).state is ApplicationState.PENDING


def test_confirmed_application_cancels_within_window(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0, window=timedelta(days=7))
    confirmed_at = T0 + timedelta(hours=20)
    confirmed = applications.confirm(session, oid, hh, confirmed_at)
    assert confirmed.cancel_until == confirmed_at + timedelta(days=7)  # counted from confirmation
    cancelled = applications.cancel(session, oid, hh, confirmed_at + timedelta(days=6, hours=23))
    assert cancelled.state is ApplicationState.CANCELLED
    again = applications.cancel(session, oid, hh, confirmed_at + timedelta(days=30))
    assert again == cancelled  # idempotent


def test_cancel_after_window_is_a_clear_error_and_changes_nothing(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0, window=timedelta(days=7))
    applications.confirm(session, oid, hh, T0)
    with pytest.raises(ApplicationError) as err:
        applications.cancel(session, oid, hh, T0 + timedelta(days=7, seconds=1))
    assert err.value.code == "cancel_window_closed" and err.value.status == 409
    assert applications.get(session, oid, hh).state is ApplicationState.CONFIRMED


def test_pending_application_cancels_and_then_cannot_be_confirmed(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    applications.start(session, oid, hh, T0)
    assert applications.cancel(session, oid, hh, T0).state is ApplicationState.CANCELLED
    with pytest.raises(ApplicationError) as err:
        applications.confirm(session, oid, hh, T0)
    assert err.value.code == "invalid_transition"


def test_cancel_without_offer_id_cancels_the_latest(session: Session, hh: int) -> None:
    older, newer = _offer(session, hh), _offer(session, hh)
    applications.start(session, older, hh, T0)
    applications.start(session, newer, hh, T0 + timedelta(minutes=1))
    cancelled = applications.cancel(session, None, hh, T0 + timedelta(minutes=2))
    assert cancelled.offer_id == newer
    assert applications.get(session, older, hh).state is ApplicationState.PENDING


def test_cancel_with_nothing_to_cancel_is_not_found(session: Session, hh: int) -> None:
    with pytest.raises(NotFoundError):
        applications.cancel(session, None, hh, T0)


def test_expire_due_expires_only_overdue_pending(session: Session, hh: int) -> None:
    due, fresh, done = _offer(session, hh), _offer(session, hh), _offer(session, hh)
    applications.start(session, due, hh, T0, confirm_within=timedelta(hours=1))
    applications.start(session, fresh, hh, T0, confirm_within=timedelta(hours=3))
    applications.start(session, done, hh, T0, confirm_within=timedelta(hours=1))
    applications.confirm(session, done, hh, T0)
    assert applications.expire_due(session, T0 + timedelta(hours=2)) == 1
    states = [applications.get(session, o, hh).state for o in (due, fresh, done)]
    assert states == [
        ApplicationState.EXPIRED,
        ApplicationState.PENDING,
        ApplicationState.CONFIRMED,
    ]


def test_insurance_is_handed_off_not_applied_for(session: Session, hh: int) -> None:
    insurance = Candidate(
        kind=OfferKind.INSURANCE,
        subject="ins-1",
        terms={"premium": "99.00"},
        explanation="您询问了保险",
        text="由持牌保险公司提供",
    )
    oid = _offer(session, hh, insurance)
    with pytest.raises(ApplicationError) as err:
        applications.start(session, oid, hh, T0)
    assert err.value.code == "not_applicable"
    assert _applications(session) == 0


def test_another_households_offer_is_not_found(session: Session, hh: int) -> None:
    other = _household(session, "李家")
    oid = _offer(session, hh)
    with pytest.raises(NotFoundError):
        applications.start(session, oid, other, T0)
    applications.start(session, oid, hh, T0)
    with pytest.raises(NotFoundError):
        applications.cancel(session, oid, other, T0)


def test_status_json_has_state_and_cancel_until(session: Session, hh: int) -> None:
    oid = _offer(session, hh)
    body = applications.start(session, oid, hh, T0).as_json()
    assert body["state"] == "pending"
    assert body["cancel_until"] == (T0 + applications.DEFAULT_CANCEL_WINDOW).isoformat()
