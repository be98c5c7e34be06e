"""The home screen's figures come from the household's own data (year-long demo seed)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.household import points
from bot.store.db import utcnow
from bot.store.models import Household, Tenant
from bot.topics import energy
from bot.topics.home import home_summary


def test_home_summary_matches_the_energy_answer_and_the_ledger(actions_db: Engine) -> None:
    now = utcnow()
    with Session(actions_db) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        tenant = session.get(Tenant, home.tenant_id)
        assert tenant is not None and home.id is not None
        summary = home_summary(session, tenant, home.id, now)
        month = energy.usage(session, tenant, home.id, None, "this_month", now)
        e = summary["energy"]
        assert Decimal(e["kwh"]) == month.kwh
        assert e["last_label"] == "上个月同期" and Decimal(e["last_kwh"]) > 0
        top = [d["name"] for d in e["top_devices"]]
        assert len(top) == 3 and Decimal(e["top_devices"][0]["kwh"]) >= Decimal(e["top_devices"][1]["kwh"])
        assert summary["points"]["balance"] == points.balance(session, home.id) > 0
        assert summary["consents"] == [
            {"scope": "energy_data", "granted": True},
            {"scope": "device_usage", "granted": True},
        ]
        assert (
            2 <= len(summary["suggestions"]) <= 3 and summary["suggestions"][0] == f"{top[0]}这个月用了多少电"
        )
        assert summary["applications"] == []
