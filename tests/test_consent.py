"""Consent ledger: grants and withdrawals per scope, append-only, binding at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from bot.errors import InputError, NotFoundError
from bot.household import consent
from bot.store.db import make_engine
from bot.store.models import ConsentEvent, ConsentScope
from bot.store.tables import metadata
from tests.factories import add_household

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _household(session: Session, name: str = "张家") -> int:
    return add_household(session, name)


def _grant(session: Session, hh: int, scope: str, at: datetime = T0) -> consent.ConsentRecord:
    return consent.grant(session, hh, scope, channel="voice", notice_version="v1", now=at)


def _withdraw(session: Session, hh: int, scope: str, at: datetime = T0) -> consent.ConsentRecord:
    return consent.withdraw(session, hh, scope, channel="panel", notice_version="v1", now=at)


def test_scope_never_asked_is_not_granted(session: Session) -> None:
    hh = _household(session)
    state = consent.status(session, hh)
    assert {s: st.granted for s, st in state.items()} == {s: False for s in ConsentScope}
    assert all(st.event is None for st in state.values())


def test_latest_event_per_scope_is_in_force(session: Session) -> None:
    hh = _household(session)
    first = _grant(session, hh, "energy_data")
    _grant(session, hh, "device_usage")
    _withdraw(session, hh, "energy_data", T0 + timedelta(minutes=1))
    assert consent.status(session, hh)[ConsentScope.ENERGY_DATA].granted is False
    assert ConsentScope.ENERGY_DATA not in consent.in_force(session, hh)
    again = _grant(session, hh, "energy_data", T0 + timedelta(minutes=2))
    assert consent.in_force(session, hh)[ConsentScope.ENERGY_DATA] == again.event_id != first.event_id


def test_withdrawal_is_committed_and_seen_by_another_session_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'consent.db'}")  # own connection per session
    metadata.create_all(engine)
    with Session(engine) as writer:
        hh = _household(writer)
        _grant(writer, hh, "energy_data")
        with Session(engine) as reader:
            assert consent.missing(reader, hh, ["energy_data"]) == frozenset()
        _withdraw(writer, hh, "energy_data")
        with Session(engine) as reader:
            assert consent.missing(reader, hh, ["energy_data"]) == {ConsentScope.ENERGY_DATA}
    engine.dispose()


def test_require_returns_the_grant_events_covering_the_scopes(session: Session) -> None:
    hh = _household(session)
    energy = _grant(session, hh, "energy_data")
    usage = _grant(session, hh, "device_usage")
    assert consent.require(session, hh, ["energy_data"]) == (energy.event_id,)
    refs = consent.require(session, hh, {"energy_data", "device_usage"})
    assert refs == tuple(sorted((energy.event_id, usage.event_id)))


def test_require_names_the_missing_scopes(session: Session) -> None:
    hh = _household(session)
    _grant(session, hh, "energy_data")
    with pytest.raises(consent.ConsentRequired) as err:
        consent.require(session, hh, ["energy_data", "device_usage"])
    assert err.value.code == "needs_consent"
    assert err.value.missing == {ConsentScope.DEVICE_USAGE}


def test_history_keeps_every_event_in_order(session: Session) -> None:
    hh = _household(session)
    _grant(session, hh, "energy_data")
    _withdraw(session, hh, "energy_data", T0 + timedelta(minutes=1))
    _grant(session, hh, "energy_data", T0 + timedelta(minutes=2))
    assert [r.granted for r in consent.history(session, hh)] == [True, False, True]
    count = session.exec(select(func.count()).select_from(ConsentEvent)).one()
    assert count == 3


def test_withdraw_all_withdraws_every_scope(session: Session) -> None:
    hh = _household(session)
    _grant(session, hh, "energy_data")
    _grant(session, hh, "device_usage")
    consent.withdraw_all(session, hh, channel="voice", notice_version="v1", now=T0)
    assert consent.in_force(session, hh) == {}


def test_consent_of_one_household_does_not_cover_another(session: Session) -> None:
    zhang = _household(session, "张家")
    li = _household(session, "李家")
    _grant(session, zhang, "energy_data")
    assert consent.missing(session, li, ["energy_data"]) == {ConsentScope.ENERGY_DATA}


def test_bad_scope_channel_or_household_are_rejected(session: Session) -> None:
    hh = _household(session)
    with pytest.raises(InputError) as bad_scope:
        _grant(session, hh, "camera_images")
    assert bad_scope.value.code == "bad_scope"
    with pytest.raises(InputError):
        consent.grant(session, hh, "energy_data", channel="sms", notice_version="v1", now=T0)
    with pytest.raises(NotFoundError):
        _grant(session, hh + 100, "energy_data")
    assert consent.history(session, hh) == ()


def test_record_json_has_scope_and_time(session: Session) -> None:
    hh = _household(session)
    rec = _grant(session, hh, "device_usage")
    assert rec.as_json()["scope"] == "device_usage"
    assert rec.as_json()["at"] == T0.isoformat()
