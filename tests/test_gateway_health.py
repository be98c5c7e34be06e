"""``/healthz`` under abuse: anonymous callers get ``{"status"}`` only, operators the components, and
a burst of calls shares one report (no new backend connections per call)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.gateway import routes
from bot.gateway.app import create_app
from bot.gateway.health import HEALTH_CACHE, HealthCache
from tests.fakes import FakeDialogue
from tests.gateway_kit import OPERATOR, ZHANG, Client, make_client, no_speech


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue(), gateway={"health_cache_s": 1.5})


async def test_anonymous_callers_see_only_the_status_devices_also_speech(client: Client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 503, "the action server is not running in this test"
    assert await resp.json() == {"status": "down"}
    device = await (await client.get("/healthz", headers=ZHANG)).json()
    assert device == {"status": "down", "components": {"stt": {"ok": False}, "tts": {"ok": False}}}
    full = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert {"database", "rasa", "actions"} <= set(full["components"]) and full["status"] == "down"


async def test_a_forged_token_on_healthz_is_refused(client: Client) -> None:
    resp = await client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_token"


async def test_200_calls_in_a_second_compute_one_report(
    aiohttp_client: Any, demo_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = routes.ping
    monkeypatch.setattr(routes, "ping", lambda engine: (pings.append(engine), real_ping(engine))[1])
    config = Config(actions_port=1)
    app = create_app(config, engine=demo_db, dialogue=FakeDialogue(), speech=no_speech())
    clock = Clock()
    app[HEALTH_CACHE] = HealthCache(1.0, clock)
    client = await aiohttp_client(app)
    statuses = await asyncio.gather(*(client.get("/healthz") for _ in range(200)))
    assert {r.status for r in statuses} == {503}
    cache = app[HEALTH_CACHE]
    assert cache.computed == 1 and len(pings) == 1, "one database check for 200 callers"
    clock.now += 0.9
    await client.get("/healthz")
    assert cache.computed == 1
    clock.now += 0.2  # older than a second: the next caller refreshes it, once
    await asyncio.gather(*(client.get("/healthz") for _ in range(50)))
    assert cache.computed == 2 and len(pings) == 2


@pytest.mark.scale
async def test_200_healthz_calls_open_no_new_service_connections(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    """Production profile services (Redis lock store, RabbitMQ broker): counted on the server side."""
    import redis

    from tests.scale_kit import AMQP_URL, REDIS_URL, require_services

    require_services("redis", "rabbitmq")
    config = Config(actions_port=1, lock_store_url=REDIS_URL, event_broker_url=AMQP_URL)
    app = create_app(config, engine=demo_db, dialogue=FakeDialogue(), speech=no_speech())
    client = await aiohttp_client(app)
    probe = redis.Redis.from_url(REDIS_URL)
    before = int(probe.info("stats")["total_connections_received"])
    responses = await asyncio.gather(*(client.get("/healthz") for _ in range(200)))
    after = int(probe.info("stats")["total_connections_received"])
    probe.close()
    assert all(r.status in (200, 503) for r in responses)
    assert after - before <= 2, f"{after - before} new Redis connections for 200 calls"
    assert app[HEALTH_CACHE].computed <= 2


def test_a_role_is_recalled_only_within_its_time() -> None:
    from bot.gateway.health import RecentRoles

    now = [0.0]
    roles = RecentRoles(ttl_s=10, size=2, clock=lambda: now[0])
    roles.remember("a", "admin")
    assert roles.recall("a") == "admin" and roles.recall("b") is None
    now[0] = 11
    assert roles.recall("a") is None, "too old"
    roles.remember("b", "device")
    roles.remember("c", "admin")
    roles.remember("d", "admin")
    assert roles.recall("b") is None, "the oldest is dropped beyond the size"
