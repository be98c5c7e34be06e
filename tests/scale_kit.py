"""Shared helpers of the service-backed (``scale``) tests: real PostgreSQL, Redis, RabbitMQ, Mosquitto.

A missing service FAILS the test with a message naming it: ``make test-scale`` claims the production
profile works, so it must never pass by skipping.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bot.testing.harness import RunningStack, make_stack
from tests.fault_proxy import ThreadedProxy

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REDIS_URL = "redis://127.0.0.1:6379/1"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
MQTT_URL = "mqtt://127.0.0.1:1883"

SERVICES: dict[str, tuple[str, int]] = {
    "postgresql": (PG_HOST, PG_PORT),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "mosquitto": ("127.0.0.1", 1883),
}


def require_services(*names: str) -> None:
    """Fail (never skip) with a clear message when one of the named local services is not reachable."""
    missing = []
    for name in names or tuple(SERVICES):
        host, port = SERVICES[name]
        try:
            with socket.create_connection((host, port), timeout=3):
                pass
        except OSError as err:
            missing.append(f"{name} on {host}:{port} ({err.__class__.__name__}: {err})")
    if missing:
        pytest.fail(
            "service-backed test needs local services that are not reachable: "
            + "; ".join(missing)
            + " — start them (see docs/scale.md), do not skip these tests",
            pytrace=False,
        )


def unique_name(prefix: str) -> str:
    """A name no other test run uses (database, queue, key prefix)."""
    return f"{prefix}_{secrets.token_hex(4)}"


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=5
    )


def create_database(name: str) -> None:
    """Create an empty PostgreSQL database."""
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    """Drop a database even while something still holds a connection to it."""
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def fresh_database(prefix: str = "bot_scale") -> Iterator[str]:
    """A new, empty PostgreSQL database for the block; yields its name and drops it afterwards."""
    require_services("postgresql")
    name = unique_name(prefix)
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)


def pg_url(dbname: str, driver: str = "postgresql+psycopg") -> str:
    """URL of a local database: SQLAlchemy flavour for the app, ``postgresql`` for Rasa's tracker."""
    return f"{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def pg_rows(dbname: str, query: str, *params: object) -> list[tuple[object, ...]]:
    """Run one query on a local database and return its rows."""
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname) as conn:
        return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]


@dataclass
class ProductionProfile:
    """Names of the per-test resources of one production-profile stack."""

    app_db: str
    tracker_db: str
    queue: str
    key_prefix: str

    def env(self, *, gateway_workers: int = 2, action_workers: int = 2) -> dict[str, str]:
        """``BOT_*`` variables selecting the production profile on these resources."""
        return {
            "BOT_DATABASE_URL": pg_url(self.app_db),
            "BOT_TRACKER_STORE_URL": pg_url(self.tracker_db, "postgresql"),
            "BOT_LOCK_STORE_URL": REDIS_URL,
            "BOT_LOCK_KEY_PREFIX": self.key_prefix,
            "BOT_EVENT_BROKER_URL": AMQP_URL,
            "BOT_EVENT_QUEUE": self.queue,
            "BOT_GATEWAY_WORKERS": str(gateway_workers),
            "BOT_ACTION_WORKERS": str(action_workers),
        }


@contextlib.contextmanager
def production_profile() -> Iterator[ProductionProfile]:
    """Fresh app and tracker databases plus unique queue / key names; everything dropped afterwards."""
    require_services("postgresql", "redis", "rabbitmq")
    with fresh_database("bot_app") as app_db, fresh_database("bot_tracker") as tracker_db:
        profile = ProductionProfile(app_db, tracker_db, unique_name("bot_events"), unique_name("bot"))
        try:
            yield profile
        finally:
            _delete_queue(profile.queue)


def _delete_queue(queue: str) -> None:
    """Remove the test's RabbitMQ queue (best effort: the broker may be the thing under test)."""
    import asyncio

    import aio_pika

    async def delete() -> None:
        conn = await aio_pika.connect(AMQP_URL, timeout=5)
        async with conn:
            channel = await conn.channel()
            await channel.queue_delete(queue)

    with contextlib.suppress(Exception):
        asyncio.run(delete())


@contextlib.contextmanager
def production_stack(
    var_dir: Path,
    *,
    gateway_workers: int = 2,
    action_workers: int = 2,
    proxies: dict[str, ThreadedProxy] | None = None,
    seed: bool = True,
    before_start: Callable[[RunningStack], None] | None = None,
    **env: str,
) -> Iterator[tuple[RunningStack, ProductionProfile]]:
    """A started ``bot up`` in the production profile (PostgreSQL, Redis, RabbitMQ, several workers).

    ``proxies`` maps a ``BOT_*_URL`` variable to a proxy in front of that URL's service: the
    stack then reaches the service through the proxy, whose ``cut()`` simulates an outage.
    """
    with production_profile() as profile:
        extra = profile.env(gateway_workers=gateway_workers, action_workers=action_workers) | env
        for var, proxy in (proxies or {}).items():
            host, port = proxy.target
            extra[var] = extra[var].replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
        stack = make_stack(var_dir, env=extra)
        try:
            if before_start is not None:  # e.g. onboarding a tenant by CLI on the empty database
                before_start(stack)
            stack.start(seed=seed)
            yield stack, profile
        finally:
            stack.stop()
