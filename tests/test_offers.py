"""The offer service: consent, sensitive data, stop-offers, caps, audit first, determinism, why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, func, select

from bot.errors import InputError, NotFoundError, StoreError
from bot.household import consent
from bot.offers import records
from bot.offers import service as offers
from bot.offers.types import Candidate, Caps, OfferContext, OfferKind, RefusalReason
from bot.seed.tenants import packaged_tenant_config
from bot.store.db import make_engine
from bot.store.ledger import OfferAudit
from bot.store.models import ConsentScope
from bot.store.tables import metadata
from tests.factories import add_household

T0 = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)

INSTALLMENT = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={"apr": "0.1303", "monthly_payment": "1072.00", "periods": "12", "partner": "某消费金融"},
    explanation="您询问了新风机分十二期的月供",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)
UPGRADE = Candidate(
    kind=OfferKind.UPGRADE,
    subject="KFR-35GW/1",
    terms={"money_saved_per_year": "412.50", "payback_months": "38"},
    explanation="根据您家空调近三个月的用电数据，比一级能效机型多用约八百度电",
    text="换一台一级能效空调，每年大约省四百一十二元",
    data_scopes=frozenset({"energy_data"}),
    topics=frozenset({"ask_energy_usage"}),
    inputs={"device_id": "7", "kwh_last_90_days": "410.2"},
)
CAMERA_INSURANCE = Candidate(
    kind=OfferKind.INSURANCE,
    subject="camera-data-security",
    terms={"premium": "99.00"},
    explanation="根据摄像头画面判断您家常无人",
    text="要不要了解一下数据安全险",
    uses_sensitive_data=True,
)


def _household(session: Session, name: str = "张家") -> int:
    return add_household(session, name)


def _ctx(hh: int, sid: str = "s1", topic: str | None = None, proactive: bool = True) -> OfferContext:
    return OfferContext(household_id=hh, session_id=sid, topic=topic, proactive=proactive)


def _audit_rows(engine: Engine) -> int:
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(OfferAudit)).one()


@pytest.fixture
def file_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database file, so a second session uses its own connection and sees only committed rows."""
    eng = make_engine(f"sqlite:///{tmp_path / 'offers.db'}")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def hh(session: Session) -> int:
    """A household that granted the energy_data scope."""
    hid = _household(session)
    consent.grant(session, hid, "energy_data", channel="voice", notice_version="v1", now=T0)
    return hid


def test_offer_carries_the_id_of_its_committed_audit_row(file_engine: Engine) -> None:
    engine = file_engine
    with Session(engine) as session:
        hid = _household(session)
        consent.grant(session, hid, "energy_data", channel="voice", notice_version="v1", now=T0)
        decision = offers.decide(session, _ctx(hid, topic="ask_energy_usage"), [UPGRADE], T0)
    assert decision.offer is not None
    with Session(engine) as fresh:  # another connection sees it: committed before returning
        row = fresh.get(OfferAudit, decision.offer.offer_id)
        assert row is not None
        assert (row.kind, row.subject, row.text) == ("upgrade", UPGRADE.subject, UPGRADE.text)
        assert row.terms == dict(UPGRADE.terms)
        assert row.inputs["candidate_inputs"] == {"device_id": "7", "kwh_last_90_days": "410.2"}
    assert _audit_rows(engine) == 1


def test_each_offer_writes_exactly_one_row_and_refusals_write_none(
    engine: Engine, session: Session, hh: int
) -> None:
    offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT, UPGRADE], T0)
    assert _audit_rows(engine) == 1
    offers.decide(session, _ctx(hh, proactive=False), [CAMERA_INSURANCE], T0)
    assert _audit_rows(engine) == 1
    offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT], T0)
    assert _audit_rows(engine) == 2


def test_failed_audit_write_returns_no_offer(file_engine: Engine) -> None:
    session = Session(file_engine)
    hh = _household(session)

    def fail(*_args: object) -> None:
        raise SQLAlchemyError("disk full")

    event.listen(OfferAudit, "before_insert", fail)
    try:
        with pytest.raises(StoreError):
            offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT], T0)
    finally:
        event.remove(OfferAudit, "before_insert", fail)
    assert _audit_rows(file_engine) == 0
    assert records.offers_shown(session, hh) == ()
    session.close()


def test_withdrawn_consent_refuses_device_data_offers_immediately(session: Session, hh: int) -> None:
    assert offers.decide(session, _ctx(hh, "s1", proactive=False), [UPGRADE], T0).offer is not None
    consent.withdraw(session, hh, "energy_data", channel="voice", notice_version="v1", now=T0)
    decision = offers.decide(session, _ctx(hh, "s1", proactive=False), [UPGRADE], T0)
    assert decision.offer is None
    assert decision.reason is RefusalReason.NEEDS_CONSENT
    assert decision.missing_scopes == {"energy_data"}


def test_offer_without_device_data_needs_no_consent(session: Session) -> None:
    hid = _household(session)
    decision = offers.decide(session, _ctx(hid, proactive=False), [INSTALLMENT, UPGRADE], T0)
    assert decision.offer is not None and decision.offer.kind is OfferKind.INSTALLMENT
    assert decision.offer.consent_refs == ()


def test_sensitive_data_never_feeds_an_offer(session: Session, hh: int) -> None:
    consent.grant(session, hh, "device_usage", channel="voice", notice_version="v1", now=T0)
    decision = offers.decide(session, _ctx(hh, topic="insurance", proactive=False), [CAMERA_INSURANCE], T0)
    assert decision.offer is None and decision.reason is RefusalReason.SENSITIVE_DATA


def test_stop_offers_blocks_proactive_offers_until_cleared(session: Session, hh: int) -> None:
    offers.set_stop_offers(session, hh, True, now=T0)
    proactive = offers.decide(session, _ctx(hh, "s1"), [UPGRADE], T0)
    assert proactive.offer is None and proactive.reason is RefusalReason.STOP_OFFERS
    asked = offers.decide(session, _ctx(hh, "s1", proactive=False), [INSTALLMENT], T0)
    assert asked.offer is not None  # an explicit request is still answered
    offers.set_stop_offers(session, hh, False, now=T0)
    assert offers.decide(session, _ctx(hh, "s2"), [UPGRADE], T0).offer is not None


def test_proactive_offers_are_capped_per_session(session: Session, hh: int) -> None:
    caps = Caps(per_session=1, per_week=5)
    assert offers.decide(session, _ctx(hh, "s1"), [UPGRADE], T0, caps).offer is not None
    second = offers.decide(session, _ctx(hh, "s1"), [UPGRADE], T0, caps)
    assert second.offer is None and second.reason is RefusalReason.SESSION_CAP
    assert offers.decide(session, _ctx(hh, "s2"), [UPGRADE], T0, caps).offer is not None


def test_proactive_offers_are_capped_per_week(session: Session, hh: int) -> None:
    caps = Caps(per_session=1, per_week=3)
    for day in range(3):
        when = T0 + timedelta(days=day)
        assert offers.decide(session, _ctx(hh, f"s{day}"), [UPGRADE], when, caps).offer is not None
    fourth = offers.decide(session, _ctx(hh, "s3"), [UPGRADE], T0 + timedelta(days=3), caps)
    assert fourth.offer is None and fourth.reason is RefusalReason.WEEKLY_CAP
    later = T0 + timedelta(days=7, hours=1)  # the first offer has left the 7-day window
    assert offers.decide(session, _ctx(hh, "s4"), [UPGRADE], later, caps).offer is not None


def test_explicit_requests_do_not_count_against_caps(session: Session, hh: int) -> None:
    for _ in range(3):
        assert offers.decide(session, _ctx(hh, "s1", proactive=False), [INSTALLMENT], T0).offer
    assert offers.decide(session, _ctx(hh, "s1"), [UPGRADE], T0).offer is not None


def test_on_topic_candidate_wins_and_off_topic_is_refused(session: Session, hh: int) -> None:
    decision = offers.decide(session, _ctx(hh, topic="installment"), [UPGRADE, INSTALLMENT], T0)
    assert decision.offer is not None and decision.offer.kind is OfferKind.INSTALLMENT
    only_off = offers.decide(session, _ctx(hh, "s2", topic="warranty"), [UPGRADE], T0)
    assert only_off.offer is None and only_off.reason is RefusalReason.OFF_TOPIC


def test_free_wording_is_refused_unless_apr_is_zero(session: Session, hh: int) -> None:
    fake_free = Candidate(
        kind=OfferKind.INSTALLMENT,
        subject="XF-300",
        terms={"apr": "0.0566", "upfront_fee": "360.00"},
        explanation="厂家活动",
        text="十二期免息",
    )
    refused = offers.decide(session, _ctx(hh, proactive=False), [fake_free], T0)
    assert refused.offer is None and refused.reason is RefusalReason.UNTRUTHFUL_TERMS
    true_free = Candidate(**{**fake_free.__dict__, "terms": {"apr": "0"}})
    assert offers.decide(session, _ctx(hh, proactive=False), [true_free], T0).offer is not None


def test_free_wording_with_a_fee_is_refused_even_at_zero_apr(session: Session, hh: int) -> None:
    fee_free = Candidate(
        kind=OfferKind.INSTALLMENT,
        subject="XF-300",
        terms={"apr": "0", "fees_total": "120.00"},
        explanation="厂家活动",
        text="十二期零利息",
    )
    refused = offers.decide(session, _ctx(hh, proactive=False), [fee_free], T0)
    assert refused.offer is None and refused.reason is RefusalReason.UNTRUTHFUL_TERMS


def test_a_kind_the_tenant_switched_off_is_refused_by_the_service_and_writes_nothing(
    engine: Engine, session: Session, hh: int
) -> None:
    caps = Caps(disabled=frozenset({OfferKind.INSTALLMENT}))
    refused = offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT], T0, caps)
    assert refused.offer is None and refused.reason is RefusalReason.FEATURE_DISABLED
    assert _audit_rows(engine) == 0
    other = offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT, UPGRADE], T0, caps)
    assert other.offer is not None and other.offer.kind is OfferKind.UPGRADE


def test_caps_of_a_tenant_are_its_limits_quiet_hours_zone_and_switched_off_kinds() -> None:
    cfg = packaged_tenant_config("demo")
    cfg = cfg.model_copy(
        update={
            "offers": cfg.offers.model_copy(update={"per_session": 2, "per_week": 4, "max_per_day": 1}),
            "features": cfg.features.model_copy(update={"insurance": False, "points": False}),
        }
    )
    caps = offers.caps_of(cfg)
    assert (caps.per_session, caps.per_week, caps.per_day) == (2, 4, 1)
    assert caps.timezone == cfg.timezone
    assert caps.disabled == {OfferKind.INSURANCE, OfferKind.POINTS}
    assert OfferKind.UPGRADE not in offers.FEATURE_OF_KIND, "advice, not a financial service"


def test_installment_without_apr_is_refused(session: Session, hh: int) -> None:
    no_apr = Candidate(**{**INSTALLMENT.__dict__, "terms": {"monthly_payment": "1072.00"}})
    decision = offers.decide(session, _ctx(hh, proactive=False), [no_apr], T0)
    assert decision.reason is RefusalReason.UNTRUTHFUL_TERMS


def test_malformed_candidates_raise_input_errors(session: Session, hh: int) -> None:
    bad_apr = Candidate(**{**INSTALLMENT.__dict__, "terms": {"apr": "13%"}})
    bad_scope = Candidate(**{**UPGRADE.__dict__, "data_scopes": frozenset({"faces"})})
    for cand in (bad_apr, bad_scope):
        with pytest.raises(InputError):
            offers.decide(session, _ctx(hh, proactive=False), [cand], T0)


def test_equal_inputs_give_equal_choice_and_terms_across_households(session: Session) -> None:
    zhang, li = _household(session, "张家"), _household(session, "李家")
    cheaper = Candidate(**{**INSTALLMENT.__dict__, "subject": "XF-200", "rank": 0})
    a = offers.decide(session, _ctx(zhang, proactive=False), [INSTALLMENT, cheaper], T0).offer
    b = offers.decide(session, _ctx(li, proactive=False), [cheaper, INSTALLMENT], T0).offer
    assert a is not None and b is not None
    assert (a.subject, dict(a.terms), a.apr) == (b.subject, dict(b.terms), b.apr)
    assert a.apr == Decimal("0.1303")


@settings(max_examples=25, deadline=None)
@given(st.permutations([INSTALLMENT, UPGRADE, CAMERA_INSURANCE]))
def test_choice_does_not_depend_on_candidate_order(order: list[Candidate]) -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        hid = _household(session)
        decision = offers.decide(session, _ctx(hid, proactive=False), order, T0)
        assert decision.offer is not None
        assert (decision.offer.kind, decision.offer.subject) == (OfferKind.INSTALLMENT, "XF-300")
    engine.dispose()


def test_why_answers_from_the_audit_row(session: Session, hh: int) -> None:
    grant_id = consent.in_force(session, hh)[ConsentScope.ENERGY_DATA]
    offer = offers.decide(session, _ctx(hh, topic="ask_energy_usage"), [UPGRADE], T0).offer
    assert offer is not None and offer.consent_refs == (grant_id,)
    answer = records.why(session, hh, offer.offer_id)
    assert answer.explanation == UPGRADE.explanation
    assert answer.data_scopes == ("energy_data",) and answer.consent_refs == (grant_id,)
    assert records.why(session, hh).offer_id == offer.offer_id  # latest when no id given


def test_why_does_not_reveal_another_households_offer(session: Session, hh: int) -> None:
    other = _household(session, "李家")
    offer = offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT], T0).offer
    assert offer is not None
    with pytest.raises(NotFoundError):
        records.why(session, other, offer.offer_id)
    with pytest.raises(NotFoundError):
        records.why(session, other)


def test_offers_shown_lists_own_offers_newest_first(session: Session, hh: int) -> None:
    other = _household(session, "李家")
    first = offers.decide(session, _ctx(hh, proactive=False), [INSTALLMENT], T0).offer
    second = offers.decide(session, _ctx(hh, "s2"), [UPGRADE], T0 + timedelta(minutes=5)).offer
    offers.decide(session, _ctx(other, proactive=False), [INSTALLMENT], T0)
    shown = records.offers_shown(session, hh)
    assert first is not None and second is not None
    assert [r.offer_id for r in shown] == [second.offer_id, first.offer_id]
    assert shown[1].as_json()["apr"] == "0.1303"


@pytest.fixture
def no_household_engine() -> Iterator[Engine]:
    """An empty database."""
    eng = make_engine("sqlite://")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def test_unknown_household_is_not_found(no_household_engine: Engine) -> None:
    with Session(no_household_engine) as session, pytest.raises(NotFoundError):
        offers.decide(session, _ctx(42), [INSTALLMENT], T0)


def test_two_turns_at_once_cannot_both_pass_the_cap(
    file_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check and insert are one critical section per household: with the window between them widened,
    the second decision waits for the first and is refused by the cap (not a second offer, not an error)."""
    import threading
    import time as clock

    with Session(file_engine) as session:
        hid = _household(session)
        consent.grant(session, hid, "energy_data", channel="voice", notice_version="v1", now=T0)
    real_gate = offers._proactive_gate

    def slow_gate(*args: object) -> RefusalReason | None:
        verdict = real_gate(*args)  # type: ignore[arg-type]
        clock.sleep(0.3)  # the other turn runs meanwhile
        return verdict

    monkeypatch.setattr(offers, "_proactive_gate", slow_gate)
    results: list[object] = []

    def turn() -> None:
        with Session(file_engine) as session:
            try:
                results.append(offers.decide(session, _ctx(hid, "s1"), [UPGRADE], T0, Caps(per_session=1)))
            except StoreError as err:
                results.append(err)

    threads = [threading.Thread(target=turn) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, StoreError)], results
    offered = [r for r in results if getattr(r, "offer", None) is not None]
    assert len(offered) == 1 and _audit_rows(file_engine) == 1
    refused = [r for r in results if r not in offered]
    assert refused[0].reason is RefusalReason.SESSION_CAP  # type: ignore[attr-defined]
