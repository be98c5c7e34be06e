"""Maintenance subscriptions: started by the confirmed application of their offer, renewed only when the
offer said so, a reminder before each renewal (once), cancelled any time (the paid period runs on),
ended when the application is cancelled within its window; and the actions that say all that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.commitment import ActionCancelApplication, ActionReadBack, ActionStartApplication
from actions.session import ActionSessionStart
from actions.subscription import ActionSubscription
from bot.config import load_config
from bot.errors import NotFoundError
from bot.household import points, subscriptions
from bot.household.export import export_household
from bot.household.subscriptions import REMINDER_LEAD, SubscriptionState, add_months
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.stack.jobs import renew_subscriptions
from bot.store.db import make_engine
from bot.store.models import Household
from bot.store.subscriptions import HouseholdSubscription
from bot.store.tables import metadata
from bot.topics.subscription import names_subscription
from tests.dialogue_kit import card_of, names, talk
from tests.factories import add_household
from tests.test_points import _earn, _saving, _setup

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
TERMS = {
    "subscription_id": "sub-robot-parts",
    "name": "扫地机器人耗材订阅",
    "price": "199.00",
    "period_months": "12",
    "service": "每半年寄送主刷、边刷、滤网、拖布一套",
    "category": "扫地机器人",
    "seller": "小居家电",
    "auto_renew": "true",
}


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 5, 8, tzinfo=UTC), 12, datetime(2027, 12, 5, 8, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
    ],
)
def test_a_period_ends_the_same_day_months_later_or_the_months_last_day(
    start: datetime, months: int, end: datetime
) -> None:
    assert add_months(start, months) == end


def _offer(session: Session, household: int, terms: dict[str, str], n: int = 0) -> int:
    cand = Candidate(
        kind=OfferKind.SUBSCRIPTION,
        subject=terms["subscription_id"],
        terms=terms,
        explanation="订阅",
        text=f"{terms['name']}每年{terms['price']}元",
    )
    offer = offers.decide(session, OfferContext(household, f"s{n}", None, False), [cand], T0).offer
    assert offer is not None
    return offer.offer_id


def _subscribe(session: Session, household: int, terms: dict[str, str] = TERMS, n: int = 0) -> int:
    offer_id = _offer(session, household, terms, n)
    applications.start(session, offer_id, household, T0)
    applications.confirm(session, offer_id, household, T0, via="panel")
    return offer_id


def _row(session: Session, offer_id: int) -> HouseholdSubscription:
    return session.exec(select(HouseholdSubscription).where(HouseholdSubscription.offer_id == offer_id)).one()


def test_confirming_the_application_starts_the_subscription_once(session: Session) -> None:
    hh = add_household(session)
    offer_id = _subscribe(session, hh)
    row = _row(session, offer_id)
    assert (row.state, row.auto_renew, row.price, row.period_months) == (
        "active",
        True,
        Decimal("199.00"),
        12,
    )
    assert subscriptions.as_json(row, T0)["renews_at"].startswith("2027-01-31")
    applications.confirm(session, offer_id, hh, T0, via="panel")
    assert len(session.exec(select(HouseholdSubscription)).all()) == 1, "confirming again starts nothing"


def test_only_an_offer_that_said_it_renews_renews(session: Session) -> None:
    hh = add_household(session)
    said_nothing = {k: v for k, v in TERMS.items() if k != "auto_renew"}
    row = _row(session, _subscribe(session, hh, said_nothing))
    assert row.auto_renew is False
    assert subscriptions.renewing(session, hh) == [] and subscriptions.due_reminders(session, hh, T0) == []
    later = add_months(T0, 12) + timedelta(days=1)
    assert subscriptions.renew_due(session, later) == 0
    assert _row(session, row.offer_id).state == SubscriptionState.ENDED


def test_points_paid_redemptions_are_not_subscriptions(session: Session) -> None:
    hh, ac = _setup(session)
    _earn(session, hh, _saving(ac, 3, "300", "50"))  # 2,500 points
    offer_id = _offer(session, hh, {**TERMS, "points_price": "1990"})
    applications.start(session, offer_id, hh, T0)
    applications.confirm(session, offer_id, hh, T0, via="panel")
    assert points.balance(session, hh) == 510
    assert session.exec(select(HouseholdSubscription)).all() == [], "a one-off redemption, no renewal"


def test_the_reminder_is_due_from_the_lead_before_the_renewal_and_said_once(session: Session) -> None:
    hh = add_household(session)
    row = _row(session, _subscribe(session, hh))
    renews = add_months(T0, 12)
    assert subscriptions.due_reminders(session, hh, renews - REMINDER_LEAD - timedelta(minutes=1)) == []
    due = subscriptions.due_reminders(session, hh, renews - REMINDER_LEAD)
    assert [r.id for r in due] == [row.id]
    subscriptions.mark_reminded(session, due)
    assert subscriptions.due_reminders(session, hh, renews - timedelta(days=1)) == []
    assert subscriptions.renew_due(session, renews) == 1
    assert subscriptions.renew_due(session, renews) == 0, "a renewal date is renewed once"
    row = _row(session, row.offer_id)
    assert row.renewals == 1 and subscriptions.as_json(row, renews)["renews_at"].startswith("2028-01-31")
    next_due = add_months(renews, 12) - REMINDER_LEAD
    assert [r.id for r in subscriptions.due_reminders(session, hh, next_due)] == [row.id], "each renewal"


def test_cancelling_stops_the_renewal_and_the_paid_period_runs_on(session: Session) -> None:
    hh = add_household(session)
    row = _row(session, _subscribe(session, hh))
    cancelled = subscriptions.cancel(session, hh, T0 + timedelta(days=30))
    assert (cancelled.id, cancelled.state, cancelled.auto_renew) == (row.id, "cancelled", False)
    assert [r.id for r in subscriptions.active(session, hh)] == [row.id], "still served until the end"
    assert subscriptions.due_reminders(session, hh, add_months(T0, 12) - timedelta(days=1)) == []
    with pytest.raises(NotFoundError):
        subscriptions.cancel(session, hh, T0 + timedelta(days=31))
    assert subscriptions.renew_due(session, add_months(T0, 12)) == 0
    assert _row(session, row.offer_id).state == SubscriptionState.ENDED
    assert subscriptions.active(session, hh) == []


def test_cancelling_picks_the_named_category_first(session: Session) -> None:
    hh = add_household(session)
    robot = _row(session, _subscribe(session, hh))
    ac_terms = {**TERMS, "subscription_id": "sub-ac-clean", "name": "空调深度清洗年卡", "category": "空调"}
    ac = _row(session, _subscribe(session, hh, ac_terms, n=1))
    assert subscriptions.cancel(session, hh, T0, "空调").id == ac.id
    assert subscriptions.cancel(session, hh, T0, "空调").id == robot.id, "else the next one that renews"


def test_an_application_cancelled_within_its_window_ends_the_subscription(session: Session) -> None:
    hh = add_household(session)
    offer_id = _subscribe(session, hh)
    applications.cancel(session, offer_id, hh, T0 + timedelta(days=2))
    row = _row(session, offer_id)
    assert (row.state, row.auto_renew) == ("ended", False)
    assert subscriptions.active(session, hh) == []


@pytest.mark.parametrize(
    ("text", "about_subscription"),
    [
        ("取消保养订阅", True),
        ("关掉 自动 续费", True),
        ("空调清洗年卡不要了", True),
        ("取消刚才的申请", False),
        ("取消刚才的保养申请", False),  # the pending application, not a running subscription
        ("取消分期", False),
        ("取消空调清洗年卡的兑换", False),  # a points redemption's application
    ],
)
def test_a_cancellation_names_a_subscription_or_an_application(text: str, about_subscription: bool) -> None:
    assert names_subscription(text) is about_subscription


# ---- the actions, on the demo database ---------------------------------------------------------


def _zhang(engine: Engine) -> int:
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        assert home.id is not None
        return home.id


def test_the_offer_states_price_coverage_and_renewal_and_the_read_back_repeats_them(
    actions_db: Engine,
) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(
        ActionSubscription(), "ask_subscription", {"device_type": "扫地机器人"}, text="扫地机耗材能订阅吗"
    )
    assert names(said) == ["utter_subscription_terms", "utter_ask_apply"]
    text = said[0].texts()[0]
    assert "每年199.00元" in text and "主刷" in text and "自动续费" in text and "续费前5天提醒" in text
    card = card_of(said, "subscription_offer")
    assert card["renewal"] == {
        "automatic": True,
        "reminder_days_before": 5,
        "cancel_any_time": True,
        "cancel_phrase": "取消保养订阅",
    }
    back = chat.run(ActionReadBack(), "affirm")
    assert names(back) == ["utter_read_back_subscription", "utter_ask_confirm"]
    assert "到期自动续费" in back[0].texts()[0] and "199.00元" in back[0].texts()[0]
    started = chat.run(ActionStartApplication(), "affirm", text="确认")
    pending = card_of(started, "application_status")
    assert pending["state"] == "pending" and pending["terms"]["auto_renew"] == "true"
    with Session(actions_db) as session:
        assert session.exec(select(HouseholdSubscription)).all() == [], "nothing before the panel confirms"
        applications.confirm(session, int(pending["offer_id"]), _zhang(actions_db), T0.now(UTC), via="panel")
        (row,) = session.exec(select(HouseholdSubscription)).all()
        assert row.name == "扫地机器人耗材订阅" and row.auto_renew


def _subscription_renewing_in(engine: Engine, days: int) -> HouseholdSubscription:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        hh = _zhang(engine)
        offer_id = _offer(session, hh, TERMS)
        applications.start(session, offer_id, hh, now)
        applications.confirm(session, offer_id, hh, now, via="panel")
        row = _row(session, offer_id)
        row.renews_at = now + timedelta(days=days)
        session.add(row)
        session.commit()
        return row


def test_the_next_conversation_starts_with_the_reminder_once(actions_db: Engine) -> None:
    _subscription_renewing_in(actions_db, 3)
    first = talk(actions_db, "张家").run(ActionSessionStart(), "session_start")
    assert names(first) == ["utter_subscription_reminder"]
    card = card_of(first, "subscription_reminder")
    assert card["reminder_due"] and card["auto_renew"] and card["suggestions"] == ["取消保养订阅"]
    assert first[0].values["price"] == "199.00" and "年" in first[0].values["date"]
    again = talk(actions_db, "张家").run(ActionSessionStart(), "session_start")
    assert names(again) == [], "said once per renewal"


def test_no_reminder_before_the_lead(actions_db: Engine) -> None:
    _subscription_renewing_in(actions_db, 20)
    assert names(talk(actions_db, "张家").run(ActionSessionStart(), "session_start")) == []


def test_cancel_the_maintenance_subscription_by_voice(actions_db: Engine) -> None:
    row = _subscription_renewing_in(actions_db, 20)
    chat = talk(actions_db, "张家")
    said = chat.run(ActionCancelApplication(), "cancel_application", text="取消保养订阅")
    assert names(said) == ["utter_subscription_cancelled"]
    card = card_of(said, "subscription_status")
    assert (card["state"], card["auto_renew"], card["subscription"]) == ("cancelled", False, row.id)
    assert said[0].values["name"] == "扫地机器人耗材订阅"
    none = chat.run(ActionCancelApplication(), "cancel_application", text="取消保养订阅")
    assert names(none) == ["utter_subscription_cancel_none"]


def test_the_export_carries_the_households_subscriptions(session: Session) -> None:
    hh = add_household(session)
    offer_id = _subscribe(session, hh)
    exported = export_household(session, hh)
    (row,) = exported["tables"]["householdsubscription"]
    assert (row["offer_id"], row["name"], row["auto_renew"]) == (offer_id, "扫地机器人耗材订阅", True)


def test_bot_up_renews_the_subscriptions_due_once_a_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        offer_id = _subscribe(session, add_household(session))
    config = load_config(env={"BOT_DATABASE_URL": url})
    due = add_months(T0, 12) + timedelta(hours=1)
    assert renew_subscriptions(config, due) == "subscriptions: 1 renewed"
    assert renew_subscriptions(config, due) == "subscriptions: 0 renewed"
    with Session(engine) as session:
        assert _row(session, offer_id).renewals == 1
    engine.dispose()
