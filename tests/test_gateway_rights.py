"""Household data rights over the API, and completing an application out of band from the panel."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.household import consent
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.db import utcnow
from bot.store.models import ApiToken, ConsentScope, Device, EnergyReading, Household
from bot.store.repo import hash_token
from tests.fakes import FakeDialogue
from tests.gateway_kit import LI, ZHANG, ZHANG_PANEL, Client, make_client

QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={
        "apr": "0.1303",
        "monthly_payment": "1072.00",
        "periods": "12",
        "partner": "某某消费金融有限公司",
        "product": "新风机",
        "total_cost": "12864.00",
    },
    explanation="您询问了新风机分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue())


def household_of(demo_db: Engine, headers: dict[str, str]) -> int:
    with Session(demo_db) as session:
        token = session.get(ApiToken, hash_token(headers["Authorization"].split()[1]))
        assert token is not None and token.device_id is not None
        device = session.get(Device, token.device_id)
        assert device is not None
        return device.household_id


def make_offer(demo_db: Engine, household_id: int, *, start: bool = True) -> int:
    with Session(demo_db, expire_on_commit=False) as session:
        context = OfferContext(household_id=household_id, session_id="s1", topic=None, proactive=False)
        offer = offers.decide(session, context, [QUOTE], utcnow()).offer
        assert offer is not None
        if start:
            applications.start(session, offer.offer_id, household_id, utcnow())
        return offer.offer_id


def readings(demo_db: Engine, household_id: int) -> int:
    with Session(demo_db) as session:
        query = select(func.count()).select_from(EnergyReading).join(Device)
        return session.exec(query.where(Device.household_id == household_id)).one()


async def test_consents_show_state_and_history(client: Client) -> None:
    zhang = await (await client.get("/api/v1/me/consents", headers=ZHANG)).json()
    li = await (await client.get("/api/v1/me/consents", headers=LI)).json()
    assert {s["scope"]: s["granted"] for s in zhang["scopes"]} == {s.value: True for s in ConsentScope}
    assert {s["scope"]: s["granted"] for s in li["scopes"]} == {s.value: False for s in ConsentScope}
    assert li["history"] == [] and zhang["history"]


async def test_grant_and_withdraw_bind_at_once_channel_and_notice_decided_by_the_server(
    client: Client, demo_db: Engine
) -> None:
    """A speaker's token cannot record a consent as given on the panel, nor under an old notice."""
    body = {"scopes": ["energy_data"], "granted": True, "channel": "panel", "notice_version": "2019-old"}
    resp = await client.post("/api/v1/me/consents", json=body, headers=LI)
    assert resp.status == 200
    li = household_of(demo_db, LI)
    with Session(demo_db) as session:
        assert ConsentScope.ENERGY_DATA in consent.in_force(session, li)
        last = consent.history(session, li)[-1]
        assert (last.channel, last.notice_version) == ("api", consent.NOTICE_VERSION)
    panel = await client.post("/api/v1/me/consents", json={**body, "channel": "api"}, headers=ZHANG_PANEL)
    assert panel.status == 200
    with Session(demo_db) as session:
        assert consent.history(session, household_of(demo_db, ZHANG))[-1].channel == "panel"
    resp = await client.post(
        "/api/v1/me/consents", json={"scope": "energy_data", "granted": False}, headers=LI
    )
    state = {s["scope"]: s["granted"] for s in (await resp.json())["scopes"]}
    assert state["energy_data"] is False
    with Session(demo_db) as session:
        assert consent.in_force(session, li) == {}


async def test_a_household_sees_only_its_own_offers(client: Client, demo_db: Engine) -> None:
    zhang_offer = make_offer(demo_db, household_of(demo_db, ZHANG), start=False)
    zhang = await (await client.get("/api/v1/me/offers", headers=ZHANG_PANEL)).json()
    li = await (await client.get("/api/v1/me/offers", headers=LI)).json()
    assert [o["offer_id"] for o in zhang["offers"]] == [zhang_offer]
    assert zhang["offers"][0]["explanation"] == "您询问了新风机分期"
    assert li["offers"] == []
    why = await client.get(f"/api/v1/me/offers/{zhang_offer}", headers=ZHANG)
    assert (await why.json())["apr"] == "0.1303"
    other = await client.get(f"/api/v1/me/offers/{zhang_offer}", headers=LI)
    assert other.status == 404 and (await other.json())["error"]["code"] == "offer_not_found"


async def test_the_panel_completes_a_pending_application(client: Client, demo_db: Engine) -> None:
    offer_id = make_offer(demo_db, household_of(demo_db, ZHANG))
    card = await (await client.get(f"/api/v1/me/applications/{offer_id}", headers=ZHANG_PANEL)).json()
    assert card["type"] == "application_status" and card["state"] == "pending"
    qr = await (await client.get(f"/api/v1/me/applications/{offer_id}/qr", headers=ZHANG_PANEL)).json()
    assert card["completion"]["qr_endpoint"] == f"/api/v1/me/applications/{offer_id}/qr"
    assert (
        qr["payload"].startswith("https://") and "/phone/" in qr["payload"] and qr["svg"].startswith("<svg")
    )
    stolen = await client.post(f"/api/v1/me/applications/{offer_id}/confirm", headers=LI)
    assert stolen.status == 404
    spoken = await client.post(f"/api/v1/me/applications/{offer_id}/confirm", headers=ZHANG)
    error = (await spoken.json())["error"]
    assert spoken.status == 403 and error["code"] == "confirm_out_of_band"
    assert "中控屏" in error["message"] and "手机" in error["message"], "names the screens that can"
    done = await client.post(f"/api/v1/me/applications/{offer_id}/confirm", headers=ZHANG_PANEL)
    assert done.status == 200 and (await done.json())["state"] == "confirmed"
    with Session(demo_db) as session:
        record = applications.get(session, offer_id, household_of(demo_db, ZHANG))
        assert record.confirmed_via == "panel"
    cancelled = await client.post(f"/api/v1/me/applications/{offer_id}/cancel", headers=ZHANG)
    assert (await cancelled.json())["state"] == "cancelled"


async def test_delete_my_data_erases_readings_and_withdraws_everything(
    client: Client, demo_db: Engine
) -> None:
    zhang, li = household_of(demo_db, ZHANG), household_of(demo_db, LI)
    before_li = readings(demo_db, li)
    assert readings(demo_db, zhang) > 0
    resp = await client.delete("/api/v1/me/data", headers=ZHANG_PANEL)
    body = await resp.json()
    assert resp.status == 200 and body["deleted"]["readings"] > 0
    assert readings(demo_db, zhang) == 0 and readings(demo_db, li) == before_li
    with Session(demo_db) as session:
        assert consent.in_force(session, zhang) == {}
        assert session.get(Household, zhang) is not None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scope": "faces", "granted": True}, "bad_scope"),
        ({"scopes": [], "granted": True}, "bad_scope"),
        ({"scope": "energy_data", "granted": "yes"}, "bad_granted"),
    ],
)
async def test_bad_consent_changes_are_refused(
    client: Client, demo_db: Engine, body: dict[str, Any], code: str
) -> None:
    resp = await client.post("/api/v1/me/consents", json=body, headers=LI)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == code
    with Session(demo_db) as session:
        assert consent.history(session, household_of(demo_db, LI)) == ()


@pytest.mark.parametrize("raw", ["²", "¹²", "٣", "１２"])
async def test_a_non_ascii_digit_id_is_a_400_not_a_500(client: Client, raw: str) -> None:
    """「²」.isdigit() is True and int("²") raises: ids accept ASCII digits only."""
    for path in (f"/api/v1/me/offers/{raw}", f"/api/v1/me/applications/{raw}"):
        resp = await client.get(path, headers=ZHANG)
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_offer_id"
