"""Two tenants on one gateway: a device of one tenant never reads or affects the other, on every
endpoint the app registers (a new endpoint without a case here fails the enumeration test); admin
tokens are refused on every household endpoint and device tokens on every admin endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
from bot.partners import signing
from bot.store.catalog import Product
from bot.store.db import utcnow
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ApiToken, ConsentEvent, Conversation, Device, EnergyReading, Household
from bot.store.repo import hash_token, token_id
from bot.tenants.config import tenant_config_of
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


def _wav(path: str) -> Call:
    async def call(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
        return await client.post(path, headers={**headers, "Content-Type": "audio/wav"}, data=silence_wav())

    return call


_audio = _wav("/api/v1/converse/audio")


async def _voice(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
    try:
        async with client.ws_connect("/api/v1/voice", headers=headers) as ws:
            await ws.close()
    except aiohttp.WSServerHandshakeError as err:
        return _Status(err.status)  # type: ignore[return-value]
    return _Status(101)  # type: ignore[return-value]


async def _events(client: Client, headers: dict[str, str], ids: Ids) -> aiohttp.ClientResponse:
    """Open the household event stream, read what it replays from the start, close it."""
    resp = await client.get("/api/v1/me/events?after=0", headers=headers)
    if resp.status != 200:
        return resp
    text = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            while True:
                text += (await resp.content.readany()).decode()
    resp.close()
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    return _Status(200, events)  # type: ignore[return-value]


@dataclass
class _Status:
    status: int
    events: list[dict[str, Any]] = field(default_factory=list)

    async def json(self) -> dict[str, Any]:
        return {"events": self.events}


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
    ("get", "/api/v1/me/home"): _json("GET", "/api/v1/me/home"),
    ("get", "/api/v1/me/complaints"): _json("GET", "/api/v1/me/complaints"),
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
    ("get", "/api/v1/me/applications"): _json("GET", "/api/v1/me/applications"),
    ("get", "/api/v1/me/events"): _events,
}
"""Endpoints a device token uses; ids in paths are the *other* tenant's."""

STUDIO: dict[tuple[str, str], Call] = {
    ("post", "/api/v1/studio/try"): _json("POST", "/api/v1/studio/try", {"text": "你好"}),
    ("post", "/api/v1/studio/try/audio"): _wav("/api/v1/studio/try/audio"),
    ("post", "/api/v1/studio/sandbox"): _json("POST", "/api/v1/studio/sandbox", {"household": "张家"}),
    ("get", "/api/v1/studio/catalog"): _json("GET", "/api/v1/studio/catalog"),
    ("get", "/api/v1/studio/responses"): _json("GET", "/api/v1/studio/responses"),
    ("post", "/api/v1/studio/responses/check"): _json(
        "POST", "/api/v1/studio/responses/check", {"name": "utter_greet", "variations": ["你好"]}
    ),
    ("put", "/api/v1/studio/responses/{name}"): _json(
        "PUT", "/api/v1/studio/responses/utter_greet", {"variations": ["你好"]}
    ),
    ("get", "/api/v1/studio/training"): _json("GET", "/api/v1/studio/training"),
    ("post", "/api/v1/studio/training"): _json(
        "POST", "/api/v1/studio/training", {"intent": "greet", "text": "哈喽小居"}
    ),
    ("get", "/api/v1/studio/flows"): _json("GET", "/api/v1/studio/flows"),
    ("post", "/api/v1/studio/checks"): _json(
        "POST", "/api/v1/studio/checks", {"kind": "conversations", "yaml": "cases: []"}
    ),
    ("get", "/api/v1/studio/checks/{job_id}"): _json("GET", "/api/v1/studio/checks/0123456789abcdef"),
}
"""Endpoints a designer token uses (tests/test_studio_routes.py checks the tenant scoping)."""

ADMIN: dict[tuple[str, str], Call] = {
    ("post", "/api/v1/admin/catalog"): _json("POST", "/api/v1/admin/catalog", {"products": [SAME_SKU]}),
    ("get", "/api/v1/admin/devices"): _json("GET", "/api/v1/admin/devices"),
    ("get", "/api/v1/admin/offers"): _json("GET", "/api/v1/admin/offers"),
    ("get", "/api/v1/admin/complaints"): _json("GET", "/api/v1/admin/complaints"),
    ("get", "/api/v1/admin/households/{household_id}/export"): _json(
        "GET", "/api/v1/admin/households/{household_id}/export"
    ),
    ("post", "/api/v1/admin/devices/{device_id}/tokens/rotate"): _json(
        "POST", "/api/v1/admin/devices/{device_id}/tokens/rotate"
    ),
    ("post", "/api/v1/admin/households"): _json("POST", "/api/v1/admin/households", {"name": "新家"}),
    ("get", "/api/v1/admin/households"): _json("GET", "/api/v1/admin/households"),
    ("patch", "/api/v1/admin/households/{household_id}"): _json(
        "PATCH", "/api/v1/admin/households/{household_id}", {"name": "改名"}
    ),
    ("delete", "/api/v1/admin/households/{household_id}"): _json(
        "DELETE", "/api/v1/admin/households/{household_id}"
    ),
    ("post", "/api/v1/admin/households/{household_id}/devices"): _json(
        "POST", "/api/v1/admin/households/{household_id}/devices", {"kind": "speaker", "name": "音箱"}
    ),
    ("get", "/api/v1/admin/households/{household_id}/devices"): _json(
        "GET", "/api/v1/admin/households/{household_id}/devices"
    ),
    ("patch", "/api/v1/admin/devices/{device_id}"): _json(
        "PATCH", "/api/v1/admin/devices/{device_id}", {"name": "改名"}
    ),
    ("delete", "/api/v1/admin/devices/{device_id}"): _json("DELETE", "/api/v1/admin/devices/{device_id}"),
    ("post", "/api/v1/admin/devices/{device_id}/pairing"): _json(
        "POST", "/api/v1/admin/devices/{device_id}/pairing"
    ),
    ("delete", "/api/v1/admin/devices/{device_id}/tokens"): _json(
        "DELETE", "/api/v1/admin/devices/{device_id}/tokens"
    ),
    ("get", "/api/v1/admin/tokens"): _json("GET", "/api/v1/admin/tokens"),
    ("delete", "/api/v1/admin/tokens/{token_id}"): _json(
        "DELETE", f"/api/v1/admin/tokens/{token_id(hash_token('demo-zhang-speaker'))}"
    ),
    ("get", "/api/v1/admin/applications"): _json("GET", "/api/v1/admin/applications"),
}
"""Endpoints an admin token uses; ids in paths are the *other* tenant's."""

PUBLIC: dict[tuple[str, str], Call] = {
    ("get", "/healthz"): _json("GET", "/healthz"),
    ("get", "/panel"): _json("GET", "/panel"),
    ("get", "/panel/{name}"): _json("GET", "/panel/app.js"),
    ("get", "/shared/{name}"): _json("GET", "/shared/api.js"),
    ("get", "/api/v1/openapi.json"): _json("GET", "/api/v1/openapi.json"),
    ("get", "/studio"): _json("GET", "/studio"),
    ("get", "/studio/{name}"): _json("GET", "/studio/studio.js"),
}
"""Endpoints without a token: they carry no household or tenant data."""

DEVICE_ONBOARDING: dict[tuple[str, str], Call] = {
    ("post", "/api/v1/pair"): _json("POST", "/api/v1/pair", {"code": "00000000"}),
    ("post", "/api/v1/telemetry"): _json(
        "POST",
        "/api/v1/telemetry",
        {
            "format": "interval_wh",
            "payload": "device_id,interval_start,minutes,energy_wh\n1,2025-07-01 08:00,60,5\n",
        },
    ),
}
"""Pairing (no token) and a hub's upload (hub token only): nothing of another tenant is reachable."""
LINKED: dict[tuple[str, str], Call] = {
    ("get", "/phone/{token}"): _json("GET", "/phone/" + "A" * 32),
    ("get", "/api/v1/phone/{token}"): _json("GET", "/api/v1/phone/" + "A" * 32),
    ("post", "/api/v1/phone/{token}/confirm"): _json("POST", "/api/v1/phone/" + "A" * 32 + "/confirm"),
    ("post", "/api/v1/phone/{token}/cancel"): _json("POST", "/api/v1/phone/" + "A" * 32 + "/cancel"),
    ("post", "/api/v1/partners/{partner}/decisions"): _json(
        "POST", "/api/v1/partners/demo-lender/decisions", {"application_id": 1, "decision": "approved"}
    ),
}
"""Endpoints whose credential is in the request itself (a phone link, a partner's signature)."""

FOREIGN_ID_ROUTES = {key for key in HOUSEHOLD if "{offer_id}" in key[1]}


def registered_routes() -> set[tuple[str, str]]:
    app = create_app(Config(), speech=no_speech())
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def test_every_registered_endpoint_has_an_isolation_case() -> None:
    cases = set(HOUSEHOLD) | set(ADMIN) | set(PUBLIC) | set(DEVICE_ONBOARDING) | set(STUDIO) | set(LINKED)
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
        assert resp.status in (200, 201)
        body = await resp.json()
        if route[1] == "/api/v1/admin/offers":
            assert body["offers"] == 0, "the demo household's offer is not counted for zhijia"
        if route[1] == "/api/v1/admin/applications":
            assert body["applications_by_state"] == {}, "the demo application is not zhijia's"
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


@pytest.mark.parametrize("route", sorted(STUDIO), ids=lambda r: f"{r[0]} {r[1]}")
async def test_device_and_admin_tokens_are_refused_on_every_studio_endpoint(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    for headers in (WANG, ZHANG, DEMO_ADMIN, ZHIJIA_ADMIN):
        resp = await STUDIO[route](client, headers, demo_ids)
        assert resp.status == 403, (route, headers)
    assert _snapshot(demo_db, demo_ids.household) == before


@pytest.mark.parametrize("admin", [DEMO_ADMIN, ZHIJIA_ADMIN], ids=["demo", "zhijia"])
async def test_an_admin_token_sent_inside_the_voice_socket_is_refused_too(
    client: Client, admin: dict[str, str]
) -> None:
    token = admin["Authorization"].split()[1]
    async with client.ws_connect("/api/v1/voice") as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16", "token": token})
        event = await ws.receive_json(timeout=30)
    assert event["type"] == "error" and event["data"]["code"] == "not_a_device", event


@pytest.mark.parametrize("headers", [WANG, ZHIJIA_ADMIN, {}], ids=["device", "admin", "none"])
@pytest.mark.parametrize("route", sorted(DEVICE_ONBOARDING), ids=lambda r: f"{r[0]} {r[1]}")
async def test_pairing_and_hub_upload_change_nothing_of_the_other_tenant(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str], headers: dict[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    resp = await DEVICE_ONBOARDING[route](client, headers, demo_ids)
    assert 400 <= resp.status < 500
    assert _snapshot(demo_db, demo_ids.household) == before


@pytest.mark.parametrize("route", sorted(LINKED), ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_guessed_link_or_an_unsigned_callback_reads_and_changes_nothing(
    client: Client, demo_db: Engine, demo_ids: Ids, route: tuple[str, str]
) -> None:
    before = _snapshot(demo_db, demo_ids.household)
    resp = await LINKED[route](client, {}, demo_ids)
    assert resp.status in ((200,) if route[1] == "/phone/{token}" else (401, 404))
    text = await resp.text()
    assert "张家" not in text and "王家" not in text
    assert _snapshot(demo_db, demo_ids.household) == before


async def test_a_zhijia_partner_secret_cannot_decide_a_demo_application(
    client: Client, demo_db: Engine, demo_ids: Ids
) -> None:
    hh = demo_ids.household
    with Session(demo_db) as session:
        applications.confirm(session, demo_ids.offer, hh, utcnow(), via="panel")
        app_id = applications.get(session, demo_ids.offer, hh).application_id
        secret = tenant_config_of(session, "zhijia").partners["demo-lender"].secret
    before = _snapshot(demo_db, hh)
    body = json.dumps({"application_id": app_id, "decision": "approved", "idempotency_key": "z"}).encode()
    headers = {signing.HEADER: signing.signature(secret, body, int(time.time()))}
    resp = await client.post("/api/v1/partners/demo-lender/decisions", data=body, headers=headers)
    assert resp.status == 401 and _snapshot(demo_db, hh) == before
