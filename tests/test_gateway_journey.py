"""The application journey through the gateway: the household's list, the phone page behind the QR,
the household event stream, the outbox dispatcher against a real HTTP partner, signed decisions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.offers import applications, phone_links
from bot.partners import signing
from bot.partners.dispatcher import Dispatcher
from bot.store.db import utcnow
from bot.store.journey import OutboxMessage, PhoneLink
from bot.store.models import Household
from bot.tenants.config import PartnerEndpoint, apply_tenant_config, tenant_config_of
from tests.fakes import FakeDialogue
from tests.gateway_kit import LI, ZHANG, ZHANG_PANEL, Client, make_client
from tests.test_gateway_rights import household_of, make_offer

SECRET = "demo-lender-shared-secret-not-for-production"
ADMIN = {"Authorization": "Bearer demo-admin"}


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue(), gateway={"dispatch_outbox": False})


def app_id_of(demo_db: Engine, offer_id: int, household_id: int) -> int:
    with Session(demo_db) as session:
        return applications.get(session, offer_id, household_id).application_id


async def qr_token(client: Client, offer_id: int) -> str:
    qr = await (await client.get(f"/api/v1/me/applications/{offer_id}/qr", headers=ZHANG_PANEL)).json()
    assert qr["payload"].startswith("https://")
    return str(qr["payload"].rsplit("/phone/", 1)[1])


async def test_the_household_lists_its_applications_with_terms_partner_and_history(
    client: Client, demo_db: Engine
) -> None:
    offer_id = make_offer(demo_db, household_of(demo_db, ZHANG))
    body = await (await client.get("/api/v1/me/applications", headers=ZHANG)).json()
    (app,) = [a for a in body["applications"] if a["offer_id"] == offer_id]
    for key in (
        "application_id",
        "offer_id",
        "kind",
        "state",
        "terms",
        "partner",
        "expires_at",
        "cancel_until",
    ):
        assert key in app
    assert app["state"] == "pending" and app["partner"] == "某某消费金融有限公司"
    assert [h["state"] for h in app["history"]] == ["pending"]
    other = await (await client.get("/api/v1/me/applications", headers=LI)).json()
    assert offer_id not in [a["offer_id"] for a in other["applications"]]


async def test_the_phone_page_confirms_once_and_a_used_or_expired_link_says_why(
    client: Client, demo_db: Engine
) -> None:
    offer_id = make_offer(demo_db, household_of(demo_db, ZHANG))
    token = await qr_token(client, offer_id)
    page = await client.get(f"/phone/{token}")
    assert page.status == 200 and "确认申请" in await page.text()
    view = await (await client.get(f"/api/v1/phone/{token}")).json()
    assert view["state"] == "pending" and view["apr"] == "0.1303" and view["apr_text"]
    done = await client.post(f"/api/v1/phone/{token}/confirm")
    assert done.status == 200 and (await done.json())["confirmed_via"] == "phone"
    again = await client.post(f"/api/v1/phone/{token}/confirm")
    error = (await again.json())["error"]
    assert again.status == 410 and error["code"] == "phone_link_used" and "重新扫码" in error["message"]
    unknown = await client.get("/api/v1/phone/" + "A" * 32)
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "phone_link_unknown"

    second = make_offer(demo_db, household_of(demo_db, ZHANG))
    stale = await qr_token(client, second)
    with Session(demo_db) as session:
        for link in session.exec(select(PhoneLink)).all():
            link.expires_at = utcnow() - timedelta(seconds=1)
            session.add(link)
        session.commit()
    expired = await client.post(f"/api/v1/phone/{stale}/confirm")
    assert expired.status == 410 and (await expired.json())["error"]["code"] == "phone_link_expired"
    with Session(demo_db) as session:
        assert applications.get(session, second, household_of(demo_db, ZHANG)).state == "pending"


async def test_a_confirmed_application_is_cancelled_on_the_phone_and_the_partner_is_told(
    client: Client, demo_db: Engine
) -> None:
    offer_id = confirmed_offer(demo_db)
    token = await qr_token(client, offer_id)
    view = await (await client.get(f"/api/v1/phone/{token}")).json()
    assert view["state"] == "confirmed"
    done = await (await client.post(f"/api/v1/phone/{token}/cancel")).json()
    assert done["state"] == "cancelled"
    hh = household_of(demo_db, ZHANG)
    with Session(demo_db) as session:
        kinds = sorted(m.kind for m in session.exec(select(OutboxMessage)).all())
        history = applications.household_applications(session, hh)[0]["history"]
    assert kinds == ["cancellation", "confirmation"] and history[-1]["channel"] == "phone"
    closed = await client.get(f"/api/v1/me/applications/{offer_id}/qr", headers=ZHANG_PANEL)
    assert closed.status == 409 and (await closed.json())["error"]["code"] == "not_open"


async def test_the_qr_link_uses_the_configured_https_base(aiohttp_client: Any, demo_db: Engine) -> None:
    from bot.config import Config
    from bot.gateway.app import create_app
    from tests.gateway_kit import no_speech

    config = Config(
        actions_port=1, public_url="https://home.example.cn", extra={"gateway": {"dispatch_outbox": False}}
    )
    client = await aiohttp_client(
        create_app(config, engine=demo_db, dialogue=FakeDialogue(), speech=no_speech())
    )
    offer_id = make_offer(demo_db, household_of(demo_db, ZHANG))
    qr = await (await client.get(f"/api/v1/me/applications/{offer_id}/qr", headers=ZHANG_PANEL)).json()
    assert qr["payload"].startswith("https://home.example.cn/phone/") and len(qr["payload"]) > 50


async def test_above_the_threshold_the_panel_is_refused_and_the_phone_completes(
    client: Client, demo_db: Engine
) -> None:
    hh = household_of(demo_db, ZHANG)
    with Session(demo_db) as session:
        tenant = session.get(Household, hh).tenant_id  # type: ignore[union-attr]
        cfg = tenant_config_of(session, tenant)
        apply_tenant_config(session, cfg.model_copy(update={"oob_confirm_above": Decimal("1000")}))
        session.commit()
    offer_id = make_offer(demo_db, hh)
    tap = await client.post(f"/api/v1/me/applications/{offer_id}/confirm", headers=ZHANG_PANEL)
    assert tap.status == 403 and (await tap.json())["error"]["code"] == "confirm_on_phone"
    token = await qr_token(client, offer_id)
    assert (await (await client.post(f"/api/v1/phone/{token}/confirm")).json())["state"] == "confirmed"


async def read_events(resp: aiohttp.ClientResponse, want: int) -> list[dict[str, Any]]:
    """The next ``want`` application events of an open stream."""
    found: list[dict[str, Any]] = []
    buffer = ""
    while len(found) < want:
        chunk = await resp.content.readany()
        assert chunk, "stream ended"
        buffer += chunk.decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if fields.get("event") == "application":
                found.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return found


async def test_an_open_panel_hears_of_changes_and_catches_up_after_a_reconnect(
    client: Client, demo_db: Engine
) -> None:
    hh = household_of(demo_db, ZHANG)
    stream = await client.get("/api/v1/me/events", headers=ZHANG_PANEL)
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    offer_id = make_offer(demo_db, hh)
    (created,) = await read_events(stream, 1)
    assert created["type"] == "application.created" and created["offer_id"] == offer_id
    stream.close()
    done = await client.post(f"/api/v1/me/applications/{offer_id}/confirm", headers=ZHANG_PANEL)
    assert done.status == 200
    with Session(demo_db) as session:
        applications.cancel(session, offer_id, hh, utcnow(), via="voice")
    again = await client.get(
        "/api/v1/me/events", headers={**ZHANG_PANEL, "Last-Event-ID": str(created["id"])}
    )
    missed = await read_events(again, 2)
    assert [(e["type"], e["channel"]) for e in missed] == [
        ("application.confirmed", "panel"),
        ("application.cancelled", "voice"),
    ]
    again.close()
    li = await client.get("/api/v1/me/events?after=0", headers=LI)
    li_events: list[dict[str, Any]] = []
    with pytest.raises(TimeoutError):
        async with __import__("asyncio").timeout(1.0):
            li_events = await read_events(li, 1)
    assert li_events == [], "another household hears nothing"
    li.close()


# --- partner side ----------------------------------------------------------------------------


class Partner:
    """A real HTTP partner endpoint that fails its first ``down`` calls, then accepts."""

    def __init__(self, down: int = 0):
        self.down = down
        self.calls: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signing.verify(SECRET, request.headers[signing.HEADER], body, time.time())
        self.calls.append({"key": request.headers["Idempotency-Key"], **json.loads(body)})
        if len(self.calls) <= self.down:
            return web.Response(status=503)
        return web.json_response({"received": True})


async def partner_server(aiohttp_server: Any, partner: Partner) -> TestServer:
    app = web.Application()
    app.router.add_post("/deliveries", partner.handle)
    server: TestServer = await aiohttp_server(app)
    return server


def point_lender_at(demo_db: Engine, url: str, max_attempts: int = 8) -> None:
    with Session(demo_db) as session:
        for tenant in ("demo", "zhijia"):
            cfg = tenant_config_of(session, tenant)
            lender = PartnerEndpoint(
                url=url, secret=cfg.partners["demo-lender"].secret, max_attempts=max_attempts
            )
            apply_tenant_config(session, cfg.model_copy(update={"partners": {"demo-lender": lender}}))
        session.commit()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def drain(dispatcher: Dispatcher, clock: Clock, rounds: int) -> None:
    for _ in range(rounds):
        await dispatcher.run_once()
        clock.tick(60)


def confirmed_offer(demo_db: Engine) -> int:
    hh = household_of(demo_db, ZHANG)
    offer_id = make_offer(demo_db, hh)
    with Session(demo_db) as session:
        applications.confirm(session, offer_id, hh, utcnow(), via="panel")
    return offer_id


async def test_a_partner_down_for_a_while_gets_the_confirmation_once_it_is_back(
    aiohttp_server: Any, demo_db: Engine
) -> None:
    partner = Partner(down=3)
    server = await partner_server(aiohttp_server, partner)
    point_lender_at(demo_db, str(server.make_url("/deliveries")))
    offer_id = confirmed_offer(demo_db)
    clock = Clock()
    async with aiohttp.ClientSession() as http:
        dispatcher = Dispatcher(demo_db, http, clock)
        await drain(dispatcher, clock, 6)
    keys = [c["key"] for c in partner.calls]
    assert len(keys) == 4 and len(set(keys)) == 1, "retried with one idempotency key until accepted"
    assert partner.calls[-1]["kind"] == "confirmation" and partner.calls[-1]["partner"] == "demo-lender"
    with Session(demo_db) as session:
        message = session.exec(select(OutboxMessage)).one()
        assert message.state == "delivered" and message.attempts == 4
        assert applications.get(session, offer_id, household_of(demo_db, ZHANG)).state == "confirmed"


async def test_a_delivery_claimed_by_a_process_that_died_is_delivered_after_its_lease(
    aiohttp_server: Any, demo_db: Engine
) -> None:
    from bot.partners import outbox

    partner = Partner()
    server = await partner_server(aiohttp_server, partner)
    point_lender_at(demo_db, str(server.make_url("/deliveries")))
    confirmed_offer(demo_db)
    clock = Clock()
    with Session(demo_db) as session:
        assert len(outbox.claim_due(session, clock())) == 1  # claimed, then the process is killed
    async with aiohttp.ClientSession() as http:
        dispatcher = Dispatcher(demo_db, http, clock)
        assert await dispatcher.run_once() == 0, "the lease still holds"
        clock.tick(outbox.LEASE.total_seconds() + 1)
        assert await dispatcher.run_once() == 1
    assert len(partner.calls) == 1


async def test_after_n_failures_the_message_is_dead_and_the_admin_sees_why(
    aiohttp_server: Any, demo_db: Engine, client: Client
) -> None:
    partner = Partner(down=100)
    server = await partner_server(aiohttp_server, partner)
    point_lender_at(demo_db, str(server.make_url("/deliveries")), max_attempts=3)
    confirmed_offer(demo_db)
    clock = Clock()
    async with aiohttp.ClientSession() as http:
        await drain(Dispatcher(demo_db, http, clock), clock, 6)
    assert len(partner.calls) == 3
    view = await (await client.get("/api/v1/admin/applications", headers=ADMIN)).json()
    assert view["deliveries_by_state"] == {"dead": 1} and view["applications_by_state"].get("confirmed") == 1
    (delivery,) = view["deliveries"]
    assert "HTTP 503" in delivery["last_error"] and delivery["attempts"] == 3
    assert "household_id" not in json.dumps(view) and "张" not in json.dumps(view, ensure_ascii=False)
    refused = await client.get("/api/v1/admin/applications", headers=ZHANG)
    assert refused.status == 403


def signed(
    body: dict[str, Any], secret: str = SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = int(time.time() if at is None else at)
    return raw, {"Content-Type": "application/json", signing.HEADER: signing.signature(secret, raw, stamp)}


async def test_signed_decisions_apply_and_forged_stale_or_replayed_ones_change_nothing(
    client: Client, demo_db: Engine
) -> None:
    offer_id = confirmed_offer(demo_db)
    hh = household_of(demo_db, ZHANG)
    app_id = app_id_of(demo_db, offer_id, hh)
    url = "/api/v1/partners/demo-lender/decisions"
    decision = {"application_id": app_id, "decision": "approved", "reason": "", "idempotency_key": "d-1"}
    state: Callable[[], str] = lambda: _state(demo_db, offer_id, hh)  # noqa: E731

    unsigned = await client.post(url, data=json.dumps(decision))
    assert unsigned.status == 401 and state() == "confirmed"
    forged_body, forged_headers = signed(decision, secret="not-the-shared-secret-at-all")
    forged = await client.post(url, data=forged_body, headers=forged_headers)
    assert forged.status == 401 and (await forged.json())["error"]["code"] == "signature_invalid"
    stale_body, stale_headers = signed(decision, at=time.time() - 3600)
    stale = await client.post(url, data=stale_body, headers=stale_headers)
    assert stale.status == 401 and (await stale.json())["error"]["code"] == "signature_stale"
    tampered = await client.post(
        url, data=forged_body.replace(b"approved", b"declined"), headers=signed(decision)[1]
    )
    assert tampered.status == 401 and state() == "confirmed"
    wrong_partner = await client.post("/api/v1/partners/other-bank/decisions", data=signed(decision)[0],
                                      headers=signed(decision)[1])  # fmt: skip
    assert wrong_partner.status == 401 and state() == "confirmed"

    body, headers = signed(decision)
    applied = await client.post(url, data=body, headers=headers)
    assert (await applied.json()) == {"outcome": "applied", "state": "approved"}
    replay = await client.post(url, data=body, headers=headers)
    assert (await replay.json())["outcome"] == "duplicate" and state() == "approved"
    early = {"application_id": app_id, "decision": "declined", "idempotency_key": "d-0"}
    late = await client.post(url, data=signed(early)[0], headers=signed(early)[1])
    assert (await late.json())["outcome"] == "out_of_order" and state() == "approved"
    bad = {**decision, "decision": "maybe", "idempotency_key": "d-9"}
    refused = await client.post(url, data=signed(bad)[0], headers=signed(bad)[1])
    assert refused.status == 400 and (await refused.json())["error"]["code"] == "bad_decision"


def _state(demo_db: Engine, offer_id: int, hh: int) -> str:
    with Session(demo_db) as session:
        return applications.get(session, offer_id, hh).state.value


def test_links_are_not_stored_in_the_clear(demo_db: Engine) -> None:
    hh = household_of(demo_db, ZHANG)
    offer_id = make_offer(demo_db, hh)
    with Session(demo_db) as session:
        token = phone_links.mint(session, app_id_of(demo_db, offer_id, hh), utcnow())
        session.commit()
        stored = [link.token_hash for link in session.exec(select(PhoneLink)).all()]
    assert token not in stored and len(stored) == 1
