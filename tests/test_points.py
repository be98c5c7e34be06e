"""Green points: earning from measured savings, balance, redemption, never a negative balance."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.errors import BotError, InputError, NotFoundError
from bot.household import points
from bot.household.points import InsufficientPoints, MeasuredSaving, Reward
from bot.store.db import make_engine
from bot.store.ledger import PointsEntry, PointsRule
from bot.store.models import Device, Household, Tenant
from bot.store.tables import metadata
from tests.factories import TENANT_ID, ensure_tenant

T0 = datetime(2025, 4, 1, tzinfo=UTC)
CLEANING = Reward(code="ac-clean", name="空调深度清洗", points=300)


def _setup(session: Session, name: str = "张家") -> tuple[int, int]:
    """A household with one air conditioner, and the 1 point per 0.1 kWh rule; returns ids."""
    if session.get(Tenant, TENANT_ID) is None:
        ensure_tenant(session)
        session.add(
            PointsRule(
                tenant_id=TENANT_ID, code="kwh10", name="每省一度电得10分", points_per_kwh=Decimal("10")
            )
        )
        session.flush()
    hh = Household(tenant_id="acme", name=name)
    session.add(hh)
    session.flush()
    assert hh.id is not None
    ac = Device(
        household_id=hh.id,
        category="空调",
        name="客厅空调",
        brand="格力",
        model="KFR-35GW",
        room="客厅",
        purchased_on=date(2014, 5, 1),
        warranty_until=date(2020, 5, 1),
    )
    session.add(ac)
    session.commit()
    assert ac.id is not None
    return hh.id, ac.id


def _saving(device: int, month: int, baseline: str, actual: str) -> MeasuredSaving:
    start = datetime(2025, month, 1, tzinfo=UTC)
    return MeasuredSaving(device, start, start + timedelta(days=30), Decimal(baseline), Decimal(actual))


def _earn(session: Session, hh: int, saving: MeasuredSaving) -> points.PointsMovement | None:
    return points.earn_from_saving(session, hh, "kwh10", saving, T0)


def test_points_round_down_and_respect_the_period_cap() -> None:
    rule = PointsRule(
        tenant_id="acme",
        code="r",
        name="r",
        points_per_kwh=Decimal("10"),
        max_points_per_period=500,
    )
    assert points.points_for(rule, _saving(1, 3, "100.0", "87.66")) == 123
    assert points.points_for(rule, _saving(1, 3, "200", "100")) == 500
    assert points.points_for(rule, _saving(1, 3, "80", "95")) == 0  # used more: no saving


def test_measured_saving_earns_points_and_builds_the_balance(session: Session) -> None:
    hh, ac = _setup(session)
    first = _earn(session, hh, _saving(ac, 3, "120.5", "90.0"))
    second = _earn(session, hh, _saving(ac, 4, "110", "100"))
    assert first is not None and second is not None
    assert (first.delta, second.delta) == (305, 100)
    assert points.balance(session, hh) == 405 == second.balance_after


def test_a_period_earns_only_once(session: Session) -> None:
    hh, ac = _setup(session)
    first = _earn(session, hh, _saving(ac, 3, "120", "90"))
    again = _earn(session, hh, _saving(ac, 3, "120", "90"))
    assert first == again
    assert points.balance(session, hh) == 300 and len(points.history(session, hh)) == 1


def test_using_more_than_the_baseline_earns_nothing(session: Session) -> None:
    hh, ac = _setup(session)
    assert _earn(session, hh, _saving(ac, 3, "90", "120")) is None
    assert points.history(session, hh) == ()


def test_redeeming_for_a_service_lowers_the_balance(session: Session) -> None:
    hh, ac = _setup(session)
    _earn(session, hh, _saving(ac, 3, "150", "100"))
    spent = points.redeem(session, hh, CLEANING, T0)
    assert (spent.delta, spent.balance_after, spent.service_code) == (-300, 200, "ac-clean")
    assert points.balance(session, hh) == 200


def test_redeeming_more_than_the_balance_fails_and_leaves_the_ledger_unchanged(
    session: Session,
) -> None:
    hh, ac = _setup(session)
    _earn(session, hh, _saving(ac, 3, "120", "100"))
    before = points.history(session, hh)
    with pytest.raises(InsufficientPoints) as err:
        points.redeem(session, hh, CLEANING, T0)
    assert err.value.code == "insufficient_points"
    assert points.history(session, hh) == before and points.balance(session, hh) == 200


def test_a_repeated_redemption_request_is_spent_once(session: Session) -> None:
    hh, ac = _setup(session)
    _earn(session, hh, _saving(ac, 3, "200", "100"))
    first = points.redeem(session, hh, CLEANING, T0, request_key="turn-42")
    again = points.redeem(session, hh, CLEANING, T0, request_key="turn-42")
    assert first == again and points.balance(session, hh) == 700


def test_stale_read_collides_on_seq_and_is_rechained(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    hh, ac = _setup(session)
    _earn(session, hh, _saving(ac, 3, "130", "100"))
    real_last = points._last
    looks: list[int] = []

    def stale_last(sess: Session, household_id: int) -> PointsEntry | None:
        looks.append(household_id)  # the first look misses the entry that is already there
        return None if len(looks) == 1 else real_last(sess, household_id)

    monkeypatch.setattr(points, "_last", stale_last)
    moved = _earn(session, hh, _saving(ac, 4, "120", "100"))
    assert moved is not None and moved.balance_after == 500
    assert [m.balance_after for m in points.history(session, hh)] == [300, 500]
    assert len(looks) == 2  # it collided once, then re-read


def test_database_rejects_a_negative_balance_row(session: Session) -> None:
    hh, _ = _setup(session)
    session.add(
        PointsEntry(
            household_id=hh,
            seq=1,
            delta=-1,
            balance_after=-1,
            kind="redeem",
            source_key="x",
            created_at=T0,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_concurrent_redemptions_never_overdraw(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'points.db'}")
    metadata.create_all(engine)
    with Session(engine) as session:
        hh, ac = _setup(session)
        _earn(session, hh, _saving(ac, 3, "200", "100"))  # 1000 points
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def spend(n: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                points.redeem(own, hh, CLEANING, T0, request_key=f"r{n}")
                outcomes.append("ok")
            except BotError as err:
                outcomes.append(err.code)

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as session:
        assert points.balance(session, hh) == 100
        assert [m.balance_after for m in points.history(session, hh)] == [1000, 700, 400, 100]
    assert sorted(outcomes) == ["insufficient_points"] * 3 + ["ok"] * 3
    engine.dispose()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=60)), max_size=12))
def test_balance_is_the_sum_of_accepted_moves_and_never_negative(
    moves: list[tuple[bool, int]],
) -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        hh, ac = _setup(session)
        expected = 0
        for i, (earn, amount) in enumerate(moves):
            if earn:
                start = T0 + timedelta(days=i)
                saving = MeasuredSaving(ac, start, start + timedelta(days=1), Decimal(amount), Decimal(0))
                expected += _earn(session, hh, saving).delta  # type: ignore[union-attr]
            else:
                try:
                    points.redeem(session, hh, Reward("svc", "保养", amount * 5), T0)
                    expected -= amount * 5
                except InsufficientPoints:
                    pass
            assert points.balance(session, hh) == expected >= 0
    engine.dispose()


def test_device_of_another_household_earns_nothing(session: Session) -> None:
    _, ac = _setup(session, "张家")
    other, _ = _setup(session, "李家")
    with pytest.raises(NotFoundError):
        _earn(session, other, _saving(ac, 3, "120", "100"))


def test_bad_periods_and_rewards_are_rejected(session: Session) -> None:
    hh, ac = _setup(session)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    backwards = MeasuredSaving(ac, start, start, Decimal(10), Decimal(5))
    naive = MeasuredSaving(ac, datetime(2025, 3, 1), datetime(2025, 4, 1), Decimal(10), Decimal(5))
    for saving in (backwards, naive):
        with pytest.raises(InputError):
            _earn(session, hh, saving)
    with pytest.raises(InputError):
        points.redeem(session, hh, Reward("free", "免费", 0), T0)
    with pytest.raises(NotFoundError):
        points.earn_from_saving(session, hh, "no-such-rule", _saving(ac, 3, "10", "5"), T0)
