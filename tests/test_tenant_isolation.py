"""Two tenants on one gateway: a device of one tenant never reads or affects the other, on every
endpoint the app registers (a new endpoint without a case here fails the enumeration test); admin
tokens are refused on every household endpoint and device tokens on every admin endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.config import Config
from bot.gateway.app import create_app
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.catalog import Product
from bot.store.db import utcnow
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ApiToken, ConsentEvent, Conversation, Device, EnergyReading, Household
from bot.store.repo import hash_token
from tests.fakes import FakeDialogue, silence_wav
from tests.gateway_kit import ZHANG, Client, make_client, no_speech

WANG = {"Authorization": "Bearer demo-wang-speaker"}
DEMO_ADMIN = {"Authorization": "Bearer demo-admin"}
ZHIJIA_ADMIN = {"Authorization": "Bearer demo-zhijia-admin"}
QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="HAIER-XF-FA350",
    terms={"apr": "0.1303", "total_cost": "12864.00", "periods": "12", "partner": "中国建设银行股份有限公司"},
    explanation="您询问了新风机分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)


SAME_SKU = {
    "sku": "GREE-KFR35-YJ1",
    "category": "空调",
    "brand": "格力",
    "model": "KFR-35GW",
    "name": "同一 SKU，另一个厂商",
    "price": "1.00",
}
"""A product with the SKU of a demo product, imported by the zhijia admin."""


@dataclass(frozen=True)
class Ids:
    """Ids of the *demo* tenant (张家) that the zhijia device or admin tries to reach."""

    household: int
    device: int
    offer: int


def _household(demo_db: Engine, headers: dict[str, str]) -> tuple[int, int]:
    with Session(demo_db) as session:
        token = session.get(ApiToken, hash_token(headers["Authorization"].split()[1]))
        assert token is not None and token.device_id is not None
        device = session.get(Device, token.device_id)
        assert device is not None and device.id is not None
        return device.household_id, device.id


def _offer(demo_db: Engine, household_id: int) -> int:
    with Session(demo_db, expire_on_commit=False) as session:
        context = OfferContext(household_id, "s1", None, False)
        offer = offers.decide(session, context, [QUOTE], utcnow()).offer
        assert offer is not None
        applications.start(session, offer.offer_id, household_id, utcnow())
        return offer.offer_id


@pytest.fixture
def demo_ids(demo_db: Engine) -> Ids:
    household, device = _household(demo_db, ZHANG)
    return Ids(household, device, _offer(demo_db, household))


def _snapshot(demo_db: Engine, household_id: int) -> dict[str, Any]:
    """Everything of one household a foreign request could read or change."""
    with Session(demo_db) as session:
        devices = select(Device.id).where(Device.household_id == household_id)
        readings = select(func.count()).select_from(EnergyReading)
        apps = session.exec(select(Application).where(Application.household_id == household_id)).all()
        tokens = session.exec(select(ApiToken).where(ApiToken.device_id.in_(devices))).all()  # type: ignore[union-attr]
        return {
            "consents": [
                (e.scope, e.granted, e.channel)
                for e in session.exec(select(ConsentEvent).where(ConsentEvent.household_id == household_id))
            ],
            "offers": session.exec(
                select(func.count()).select_from(OfferAudit).where(OfferAudit.household_id == household_id)
            ).one(),
            "applications": [(a.offer_id, a.state, a.confirmed_via) for a in apps],
            "demo_catalog": [
                (p.sku, p.price) for p in session.exec(select(Product).where(Product.tenant_id == "demo"))
            ],
            "readings": session.exec(readings.where(EnergyReading.device_id.in_(devices))).one(),  # type: ignore[attr-defined]
            "tokens": [(t.token_hash, t.revoked_at) for t in tokens],
        }


Call = Callable[[Client, dict[str, str], Ids], Awaitable[aiohttp.ClientResponse]]


def _json(method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    async def call(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
        url = path.format(offer_id=ids.offer, household_id=ids.household, device_id=ids.device)
        return await client.request(method, url, headers=headers, json=body)

    return call


async def _audio(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/v1/converse/audio", headers={**headers, "Content-Type": "audio/wav"}, data=silence_wav()
    )


async def _voice(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
    try:
        async with client.ws_connect("/api/v1/voice", headers=headers) as ws:
            await ws.close()
    except aiohttp.WSServerHandshakeError as err:
        return _Status(err.status)  # type: ignore[return-value]
    return _Status(101)  # type: ignore[return-value]


@dataclass
class _Status:
    status: int

    async def json(self) -> dict[str, Any]:
        return {}


HOUSEHOLD: dict[tuple[str, str], Call] = {
    ("post", "/api/v1/converse"): _json("POST", "/api/v1/converse", {"text": "我家这个月用了多少电"}),
    ("post", "/api/v1/converse/audio"): _audio,
    ("get", "/api/v1/voice"): _voice,
    ("post", "/api/v1/nlu/parse"): _json("POST", "/api/v1/nlu/parse", {"text": "你好"}),
    ("get", "/api/v1/me/consents"): _json("GET", "/api/v1/me/consents"),
    ("post", "/api/v1/me/consents"): _json(
        "POST", "/api/v1/me/consents", {"scope": "energy_data", "granted": False}
    ),
    ("get", "/api/v1/me/offers"): _json("GET", "/api/v1/me/offers"),
    ("get", "/api/v1/me/offers/{offer_id}"): _json("GET", "/api/v1/me/offers/{offer_id}"),
    ("delete", "/api/v1/me/data"): _json("DELETE", "/api/v1/me/data"),
    ("get", "/api/v1/me/export"): _json("GET", "/api/v1/me/export"),
    ("get", "/api/v1/me/applications/{offer_id}"): _json("GET", "/api/v1/me/applications/{offer_id}"),
    ("post", "/api/v1/me/applications/{offer_id}/confirm"): _json(
        "POST", "/api/v1/me/applications/{offer_id}/confirm"
    ),
    ("post", "/api/v1/me/applications/{offer_id}/cancel"): _json(
        "POST", "/api/v1/me/applications/{offer_id}/cancel"
    ),
    ("get", "/api/v1/me/applications/{offer_id}/qr"): _json("GET", "/api/v1/me/applications/{offer_id}/qr"),
}
"""Endpoints a device token uses; ids in paths are the *other* tenant's."""

ADMIN: dict[tuple[str, str], Call] = {
    ("post", "/api/v1/admin/catalog"): _json("POST", "/api/v1/admin/catalog", {"products": [SAME_SKU]}),
    ("get", "/api/v1/admin/devices"): _json("GET", "/api/v1/admin/devices"),
    ("get", "/api/v1/admin/offers"): _json("GET", "/api/v1/admin/offers"),
    ("get", "/api/v1/admin/households/{household_id}/export"): _json(
        "GET", "/api/v1/admin/households/{household_id}/export"
    ),
    ("post", "/api/v1/admin/devices/{device_id}/tokens/rotate"): _json(
        "POST", "/api/v1/admin/devices/{device_id}/tokens/rotate"
    ),
}
"""Endpoints an admin token uses; ids in paths are the *other* tenant's."""

PUBLIC: dict[tuple[str, str], Call] = {
    ("get", "/healthz"): _json("GET", "/healthz"),
    ("get", "/panel"): _json("GET", "/panel"),
    ("get", "/panel/{name}"): _json("GET", "/panel/app.js"),
    ("get", "/api/v1/openapi.json"): _json("GET", "/api/v1/openapi.json"),
}
"""Endpoints without a token: they carry no household or tenant data."""

FOREIGN_ID_ROUTES = {key for key in HOUSEHOLD if "{offer_id}" in key[1]}


def registered_routes() -> set[tuple[str, str]]:
    app = create_app(Config(), speech=no_speech())
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def test_every_registered_endpoint_has_an_isolation_case() -> None:
    cases = set(HOUSEHOLD) | set(ADMIN) | set(PUBLIC)
    assert registered_routes() == cases, "classify the new endpoint and give it an isolation case"


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue())


@pytest.mark.parametrize("route", sorted(HOUSEHOLD), ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_device_of_one_tenant_cannot_read_or_affect_the_other(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    resp = await HOUSEHOLD[route](client, WANG, demo_ids)
    after = _snapshot(demo_db, demo_ids.household)
    assert after == before, "a zhijia device changed the demo household"
    if route in FOREIGN_ID_ROUTES:
        assert resp.status == 404
    if resp.status == 200:
        body = str(await resp.json())
        assert "张家" not in body and "李家" not in body
        assert f"'offer_id': {demo_ids.offer}" not in body


async def test_listings_of_a_zhijia_device_hold_only_its_own_household(
    client: Client, demo_db: Engine, demo_ids: Ids
) -> None:
    wang, _ = _household(demo_db, WANG)
    own = _offer(demo_db, wang)
    offers_seen = await (await client.get("/api/v1/me/offers", headers=WANG)).json()
    assert [o["offer_id"] for o in offers_seen["offers"]] == [own]
    consents = await (await client.get("/api/v1/me/consents", headers=WANG)).json()
    with Session(demo_db) as session:
        wang_events = session.exec(select(ConsentEvent.id).where(ConsentEvent.household_id == wang)).all()
    assert sorted(e["event_id"] for e in consents["history"]) == sorted(wang_events)
    assert wang_events, "the zhijia household granted consent in the seed"


async def test_a_zhijia_turn_runs_in_a_conversation_of_the_zhijia_household(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    dialogue = FakeDialogue()
    client = await make_client(aiohttp_client, demo_db, dialogue)
    for headers in (WANG, ZHANG):
        assert (await client.post("/api/v1/converse", headers=headers, json={"text": "你好"})).status == 200
    (wang_sender, _), (zhang_sender, _) = dialogue.calls
    with Session(demo_db) as session:
        for sender, headers, tenant in ((wang_sender, WANG, "zhijia"), (zhang_sender, ZHANG, "demo")):
            conv = session.get(Conversation, sender)
            assert conv is not None and conv.household_id == _household(demo_db, headers)[0]
            household = session.get(Household, conv.household_id)
            assert household is not None and household.tenant_id == tenant


@pytest.mark.parametrize("admin", [DEMO_ADMIN, ZHIJIA_ADMIN], ids=["demo", "zhijia"])
@pytest.mark.parametrize("route", sorted(HOUSEHOLD), ids=lambda r: f"{r[0]} {r[1]}")
async def test_admin_tokens_are_refused_on_every_household_endpoint(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str], admin: dict[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    resp = await HOUSEHOLD[route](client, admin, demo_ids)
    assert resp.status == 403
    assert _snapshot(demo_db, demo_ids.household) == before


@pytest.mark.parametrize("device", [WANG, ZHANG], ids=["wang", "zhang"])
@pytest.mark.parametrize("route", sorted(ADMIN), ids=lambda r: f"{r[0]} {r[1]}")
async def test_device_and_designer_tokens_are_refused_on_every_admin_endpoint(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str], device: dict[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    for headers in (device, {"Authorization": "Bearer demo-designer"}):
        resp = await ADMIN[route](client, headers, demo_ids)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "not_admin"
    assert _snapshot(demo_db, demo_ids.household) == before


@pytest.mark.parametrize("route", sorted(ADMIN), ids=lambda r: f"{r[0]} {r[1]}")
async def test_the_admin_of_one_tenant_cannot_see_or_touch_the_other(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    resp = await ADMIN[route](client, ZHIJIA_ADMIN, demo_ids)
    assert _snapshot(demo_db, demo_ids.household) == before
    if "{" in route[1]:
        assert resp.status == 404
    else:
        assert resp.status == 200
        body = await resp.json()
        if route[1] == "/api/v1/admin/offers":
            assert body["offers"] == 0, "the demo household's offer is not counted for zhijia"
        if route[1] == "/api/v1/admin/devices":
            assert body["households"] == 1 and "格力" not in body["by_brand"]


@pytest.mark.parametrize("route", sorted(PUBLIC), ids=lambda r: f"{r[0]} {r[1]}")
async def test_public_endpoints_carry_no_tenant_data(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str]
) -> None:
    resp = await PUBLIC[route](client, {}, demo_ids)
    assert resp.status in (200, 503)
    text = await resp.text()  # type: ignore[attr-defined]
    assert "张家" not in text and "王家" not in text and "demo-wang" not in text


@pytest.mark.parametrize("admin", [DEMO_ADMIN, ZHIJIA_ADMIN], ids=["demo", "zhijia"])
async def test_an_admin_token_sent_inside_the_voice_socket_is_refused_too(
    client: Client, admin: dict[str, str]
) -> None:
    token = admin["Authorization"].split()[1]
    async with client.ws_connect("/api/v1/voice") as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16", "token": token})
        event = await ws.receive_json(timeout=30)
    assert event["type"] == "error" and event["data"]["code"] == "not_a_device", event
