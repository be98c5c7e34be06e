"""The monthly accrual credits measured savings once, with the reason on each row; the demo seed has a
household whose appliance change has earned points through it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.errors import InputError
from bot.household import points
from bot.household.accrual import accrue_month, parse_month
from bot.store.catalog import Subscription
from bot.store.everyday import DeviceChange
from bot.store.ledger import PointsEntry
from bot.store.models import Household


def _zhang(session: Session) -> int:
    home = session.exec(select(Household).where(Household.name == "张家")).one()
    assert home.id is not None
    return home.id


def test_the_demo_household_has_earned_points_for_its_new_appliances(actions_db: Engine) -> None:
    with Session(actions_db) as session:
        zhang = _zhang(session)
        changes = session.exec(select(DeviceChange)).all()
        earned = [m for m in points.history(session, zhang) if m.kind == "earn"]
        assert {c.household_id for c in changes} == {zhang} and len(changes) == 2 and earned
        assert all(m.delta > 0 and m.kwh_saved and m.kwh_saved > 0 for m in earned)
        assert points.balance(session, zhang) == sum(m.delta for m in earned)
        notes = [row.note for row in _rows(session, zhang)]
        assert all(n.startswith(("洗衣机", "电热水器")) and "比换新前少用" in n for n in notes)
        assert {n[:3] for n in notes} == {"洗衣机", "电热水"}, "both changes have earned"


def test_the_demo_households_earned_points_redeem_the_cheapest_service(actions_db: Engine) -> None:
    with Session(actions_db) as session:
        zhang = _zhang(session)
        services = session.exec(select(Subscription).where(Subscription.tenant_id == "demo")).all()
        cheapest = min(s.points_price for s in services if s.points_price)
        assert cheapest == 990
        assert points.balance(session, zhang) >= cheapest, "earned through the accrual rule, not set"
        assert all(m.kind == "earn" for m in points.history(session, zhang))


def _rows(session: Session, household_id: int) -> list[PointsEntry]:
    return list(session.exec(select(PointsEntry).where(PointsEntry.household_id == household_id)).all())


def test_running_the_accrual_again_changes_nothing(actions_db: Engine) -> None:
    with Session(actions_db) as session:
        zhang = _zhang(session)
        before = points.history(session, zhang)
        first_change = min(c.changed_on for c in session.exec(select(DeviceChange)).all())
        month = first_change.replace(day=1)
        now = datetime.now(UTC)
        months = [month]
        while months[-1] < now.date().replace(day=1):
            nxt = months[-1]
            months.append(date(nxt.year + nxt.month // 12, nxt.month % 12 + 1, 1))
        reports = [accrue_month(session, m, now) for m in months]
        assert sum(r.credited for r in reports) == 0 and sum(r.already for r in reports) == len(before)
        assert points.history(session, zhang) == before
        current = accrue_month(session, now.date().replace(day=1), now)
        assert current.skipped == {"month_not_settled": 2}


def test_a_month_must_be_given_as_year_and_month() -> None:
    assert parse_month("2026-11") == date(2026, 11, 1)
    with pytest.raises(InputError):
        parse_month("2026-13")
    with pytest.raises(InputError):
        parse_month("十一月")
