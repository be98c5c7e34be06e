from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.energy.usage import household_usage
from bot.errors import NotFoundError
from bot.periods import resolve
from bot.seed.demo import DEMO_TENANT_ID, seed_demo
from bot.store.models import ApiToken, ConsentEvent, Device, EnergyReading, Household, Tenant
from bot.store.repo import authenticate
from bot.topics import energy

NOW = datetime(2026, 7, 20, 4, 0, tzinfo=UTC)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_demo(engine, NOW)
    return engine


def _household(session: Session, name: str) -> Household:
    return session.exec(select(Household).where(Household.name == name)).one()


def test_seed_twice_adds_nothing_the_second_time(seeded: Engine) -> None:
    report = seed_demo(seeded, NOW)
    assert report.readings_added == 0
    with Session(seeded) as session:
        demo = select(func.count()).select_from(Household).where(Household.tenant_id == DEMO_TENANT_ID)
        assert session.exec(demo).one() == 2


def test_tokens_are_stored_hashed_and_resolve_to_their_device(seeded: Engine) -> None:
    with Session(seeded) as session:
        hashes = session.exec(select(ApiToken.token_hash)).all()
        assert "demo-zhang-speaker" not in hashes
        zhang = authenticate(session, "demo-zhang-speaker")
        li = authenticate(session, "demo-li-speaker")
        assert zhang.household_id == _household(session, "张家").id
        assert li.household_id == _household(session, "李家").id
        assert authenticate(session, "demo-designer").device_id is None


def test_only_the_zhang_household_has_granted_consent(seeded: Engine) -> None:
    with Session(seeded) as session:
        demo = select(Household.id).where(Household.tenant_id == DEMO_TENANT_ID)
        events = session.exec(select(ConsentEvent).where(col(ConsentEvent.household_id).in_(demo))).all()
        scopes = {(e.household_id, e.scope) for e in events}
        zhang, li = _household(session, "张家").id, _household(session, "李家").id
        assert scopes == {(zhang, "energy_data"), (zhang, "device_usage")}
        assert all(h != li for h, _ in scopes)


def test_demo_homes_look_real(seeded: Engine) -> None:
    with Session(seeded) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        assert tenant is not None
        zhang = _household(session, "张家").id
        assert zhang is not None
        july = energy.usage(session, tenant, zhang, "空调", "this_month", NOW).kwh
        march = energy.usage(
            session, tenant, zhang, "空调", "this_month", datetime(2026, 3, 20, tzinfo=UTC)
        ).kwh
        assert july > 5 * march, "air conditioning is seasonal"
        fridge = session.exec(select(Device).where(Device.name == "厨房冰箱")).one()
        year = energy.usage(session, tenant, zhang, "冰箱", "last_7_days", NOW).kwh * 52
        assert fridge.rated_annual_kwh is not None
        assert year > Decimal("1.6") * fridge.rated_annual_kwh, "the old fridge uses far more than its label"


def test_usage_equals_the_sum_of_the_readings_in_the_period(seeded: Engine) -> None:
    with Session(seeded) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        assert tenant is not None
        zhang = _household(session, "张家").id
        assert zhang is not None
        result = energy.usage(session, tenant, zhang, "空调", "last_month", NOW)
        period = resolve("last_month", NOW, tenant.timezone)
        rows = session.exec(
            select(EnergyReading)
            .join(Device)
            .where(
                Device.household_id == zhang,
                Device.category == "空调",
                EnergyReading.start >= period.start,
                EnergyReading.start < period.end,
            )
        ).all()
        assert len(rows) == 2 * 30, "two ACs, every day of June"
        assert result.kwh == sum(r.kwh for r in rows)
        home = household_usage(session, zhang, period)
        assert home.kwh > 400, "a summer month in a 4-person home reaches Beijing's third tier"
        # per-device costs are rounded to fen, and average_price is shown to 4 decimals
        assert abs(result.cost - result.kwh * home.average_price) <= Decimal("0.01") + result.kwh * Decimal(
            "0.00005"
        )
        assert result.cost > result.kwh * tenant.tariff_yuan_per_kwh, "tiers cost more than tier 1"
        card = energy.usage_card(result)
        assert card["type"] == "energy_usage" and card["device_type"] == "空调"
        assert Decimal(card["kwh"]) == result.kwh
        assert sum(Decimal(p["kwh"]) for p in card["series"]) == result.kwh
        assert len(card["series"]) == 30


def test_household_total_covers_every_device(seeded: Engine) -> None:
    with Session(seeded) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        assert tenant is not None
        li = _household(session, "李家").id
        assert li is not None
        total = energy.usage(session, tenant, li, None, "this_year", NOW)
        parts = [
            energy.usage(session, tenant, li, cat, "this_year", NOW).kwh
            for cat in ("空调", "冰箱", "洗衣机", "电视", "扫地机器人", "智能音箱")
        ]
        assert total.kwh == sum(parts)
        assert [p.label for p in total.series][:2] == ["1月", "2月"]


def test_a_device_the_home_does_not_have_is_not_found(seeded: Engine) -> None:
    with Session(seeded) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        assert tenant is not None
        li = _household(session, "李家").id
        assert li is not None
        with pytest.raises(NotFoundError) as err:
            energy.usage(session, tenant, li, "新风机", "this_month", NOW)
        assert err.value.code == "no_such_device"
