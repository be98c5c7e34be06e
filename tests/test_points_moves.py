"""Points that move: a points-paid application debits on confirmation and credits back on cancellation;
property tests over random sequences of earning (directly, and through the real monthly accrual job run
for random months, some twice), redeeming, cancelling and concurrent redemptions keep the ledger
chained, equal to its sum and never negative."""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.errors import BotError
from bot.household import consent, points
from bot.household.accrual import accrue_month
from bot.household.consent import NOTICE_VERSION
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.points_redemption import PointsShort
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.periods import local_midnight, zone
from bot.store.db import make_engine
from bot.store.everyday import DeviceChange
from bot.store.models import EnergyReading
from bot.store.tables import metadata
from tests.test_points import _earn, _saving, _setup

T0 = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)


def _cleaning(price: int) -> Candidate:
    return Candidate(
        kind=OfferKind.SUBSCRIPTION,
        subject="ac-clean",
        terms={
            "subscription_id": "ac-clean",
            "name": "空调深度清洗",
            "price": "199.00",
            "points_price": str(price),
        },
        explanation="积分够换空调清洗",
        text=f"积分够换空调深度清洗，需要{price}分，要兑换吗？",
    )


def _offer(session: Session, hh: int, price: int, n: int) -> int:
    context = OfferContext(household_id=hh, session_id=f"s{n}", topic=None, proactive=False)
    offer = offers.decide(session, context, [_cleaning(price)], T0).offer
    assert offer is not None
    return offer.offer_id


def _redeem(session: Session, hh: int, price: int, n: int) -> int:
    offer_id = _offer(session, hh, price, n)
    applications.start(session, offer_id, hh, T0)
    applications.confirm(session, offer_id, hh, T0, via="panel")
    return offer_id


def _chained(session: Session, hh: int) -> None:
    history = points.history(session, hh)
    running = 0
    for move in history:
        running += move.delta
        assert move.balance_after == running >= 0
    assert points.balance(session, hh) == running


def _file_engine(directory: str) -> Engine:
    engine = make_engine(f"sqlite:///{Path(directory) / 'points.db'}")
    metadata.create_all(engine)
    return engine


def test_confirming_debits_and_cancelling_credits_back(tmp_path: Path) -> None:
    engine = _file_engine(str(tmp_path))
    with Session(engine) as session:
        hh, ac = _setup(session)
        _earn(session, hh, _saving(ac, 3, "100", "50"))  # 500 points
        offer_id = _redeem(session, hh, 300, 1)
        assert points.balance(session, hh) == 200
        applications.confirm(session, offer_id, hh, T0, via="panel")
        assert points.balance(session, hh) == 200, "confirming again debits nothing"
        applications.cancel(session, offer_id, hh, T0 + timedelta(days=1))
        assert points.balance(session, hh) == 500
        assert [m.kind for m in points.history(session, hh)] == ["earn", "redeem", "refund"]
        applications.cancel(session, offer_id, hh, T0 + timedelta(days=1))
        assert points.balance(session, hh) == 500, "cancelling again credits nothing"
    engine.dispose()


def test_a_short_balance_leaves_the_application_pending(tmp_path: Path) -> None:
    engine = _file_engine(str(tmp_path))
    with Session(engine) as session:
        hh, ac = _setup(session)
        _earn(session, hh, _saving(ac, 3, "20", "10"))  # 100 points
        offer_id = _offer(session, hh, 300, 1)
        applications.start(session, offer_id, hh, T0)
        with pytest.raises(PointsShort) as err:
            applications.confirm(session, offer_id, hh, T0, via="panel")
        assert err.value.status == 409 and "积分不足" in err.value.message
        assert applications.get(session, offer_id, hh).state == "pending"
        assert points.balance(session, hh) == 100
    engine.dispose()


MOVES = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(min_value=1, max_value=80)),
        st.tuples(st.just("redeem"), st.integers(min_value=50, max_value=400)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("concurrent"), st.integers(min_value=50, max_value=300)),
    ),
    max_size=10,
)


@settings(max_examples=25, deadline=None)
@given(MOVES)
def test_random_moves_keep_the_ledger_consistent_and_never_negative(moves: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = _file_engine(directory)
        with Session(engine) as session:
            hh, ac = _setup(session)
        expected, confirmed, month = 0, [], 0
        for n, (kind, amount) in enumerate(moves):
            with Session(engine) as session:
                if kind == "earn" and month < 12:  # one saving per month of 2025
                    month += 1
                    _earn(session, hh, _saving(ac, month, str(amount), "0"))
                    expected += amount * 10
                elif kind == "redeem":
                    try:
                        confirmed.append((_redeem(session, hh, amount, n), amount))
                        expected -= amount
                    except PointsShort:
                        assert expected < amount
                elif kind == "cancel" and confirmed:
                    offer_id, price = confirmed.pop(amount % len(confirmed))
                    applications.cancel(session, offer_id, hh, T0 + timedelta(hours=1))
                    expected += price
            if kind == "concurrent":
                won = _concurrent(engine, hh, amount, n)
                assert len(won) == min(3, expected // amount)
                expected -= amount * len(won)
            with Session(engine) as session:
                _chained(session, hh)
                assert points.balance(session, hh) == expected >= 0
        engine.dispose()


def _concurrent(engine: Engine, hh: int, price: int, n: int) -> list[str]:
    """Three points offers of the household confirmed at once (panel and phones); returns the winners."""
    with Session(engine) as session:
        offer_ids = [_offer(session, hh, price, n * 10 + i) for i in range(3)]
        for offer_id in offer_ids:
            applications.start(session, offer_id, hh, T0)
    barrier, won = threading.Barrier(3), []

    def confirm(offer_id: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                applications.confirm(own, offer_id, hh, T0, via="panel")
                won.append("ok")
            except BotError as err:
                assert err.code == "insufficient_points"

    threads = [threading.Thread(target=confirm, args=(o,)) for o in offer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_refund_of_nothing_is_nothing(tmp_path: Path) -> None:
    engine = _file_engine(str(tmp_path))
    with Session(engine) as session:
        hh, _ = _setup(session)
        assert points.refund(session, hh, "application:999", "取消", T0) is None
    engine.dispose()


# ---- the real accrual job in the sequence: running it again for a month changes nothing ----------

CHANGED_ON = date(2025, 2, 1)
"""The demo-like appliance change: 3 kWh a day for the 30 days before, 1 kWh a day after."""
JOB_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
"""Every month of 2025 is settled."""


def _household_with_a_change(engine: Engine) -> int:
    """A consenting household whose fridge was replaced on ``CHANGED_ON``, with a reading per day."""
    zi = zone("Asia/Shanghai")
    with Session(engine) as session:
        hh, device = _setup(session)
        session.add(DeviceChange(household_id=hh, device_id=device, changed_on=CHANGED_ON, note="换新"))
        day = CHANGED_ON - timedelta(days=30)
        while day < date(2026, 1, 1):
            kwh = Decimal("3") if day < CHANGED_ON else Decimal("1")
            session.add(
                EnergyReading(device_id=device, start=local_midnight(day, zi), seconds=86400, kwh=kwh)
            )
            day += timedelta(days=1)
        session.commit()
        consent.grant(session, hh, "energy_data", channel="seed", notice_version=NOTICE_VERSION, now=T0)
        return hh


def _month_points(month: int) -> int:
    """2 kWh saved a day at 10 points per kWh, over the days of the month after the change."""
    first = date(2025, month, 1)
    end = date(2025 + month // 12, month % 12 + 1, 1)
    return 20 * (end - max(first, CHANGED_ON)).days


JOB_MOVES = st.lists(
    st.one_of(
        st.tuples(st.just("accrue"), st.integers(min_value=2, max_value=12)),
        st.tuples(st.just("redeem"), st.integers(min_value=100, max_value=900)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("concurrent"), st.integers(min_value=100, max_value=700)),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None)
@given(JOB_MOVES)
def test_random_accruals_redemptions_and_cancellations_keep_the_ledger_whole(
    moves: list[tuple[str, int]],
) -> None:
    """The accrual job (run for random months, some twice), redemptions confirmed on the panel,
    cancellations and concurrent confirmations: the ledger stays chained, equals what the rule
    earned for each month once minus what stands redeemed, and never goes negative."""
    with tempfile.TemporaryDirectory() as directory:
        engine = _file_engine(directory)
        hh = _household_with_a_change(engine)
        expected, accrued, confirmed = 0, set(), []
        for n, (kind, amount) in enumerate(moves):
            with Session(engine) as session:
                if kind == "accrue":
                    report = accrue_month(session, date(2025, amount, 1), JOB_NOW)
                    assert (report.credited, report.already) == ((0, 1) if amount in accrued else (1, 0))
                    if amount not in accrued:
                        accrued.add(amount)
                        expected += _month_points(amount)
                elif kind == "redeem":
                    try:
                        confirmed.append((_redeem(session, hh, amount, n), amount))
                        expected -= amount
                    except PointsShort:
                        assert expected < amount
                elif kind == "cancel" and confirmed:
                    offer_id, price = confirmed.pop(amount % len(confirmed))
                    applications.cancel(session, offer_id, hh, T0 + timedelta(hours=1))
                    expected += price
            if kind == "concurrent":
                won = _concurrent(engine, hh, amount, n)
                assert len(won) == min(3, expected // amount)
                expected -= amount * len(won)
            with Session(engine) as session:
                _chained(session, hh)
                assert points.balance(session, hh) == expected >= 0
        engine.dispose()
