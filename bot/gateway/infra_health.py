"""``/healthz`` components of the production services: tracker store, lock store, event broker.

Only configured services are listed. Tracker and lock store are required (no turn is safe
without them: 503); the broker is not — turns keep working and Rasa re-sends events once it is
back, so a red ``event_broker`` makes the status ``degraded`` only. No URL in a report carries
credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from bot.config import Config
from bot.rasa.endpoints import ADMIN_DB
from bot.rasa.store_checks import RasaLogWatch, libpq_url, store_url

CHECK_TIMEOUT_S = 3.0
FALLBACK_WINDOW_S = 60.0
"""A fallback line in Rasa's log keeps ``tracker_store`` red this long after it appeared."""
REQUIRED = ("tracker_store", "lock_store")


class InfraHealth:
    """Checks of the configured services of one gateway process."""

    def __init__(self, config: Config, *, before_start: bool = False) -> None:
        self.config = config
        self.before_start = before_start
        """Before ``bot up`` starts Rasa: the tracker database may not exist yet (Rasa creates it)."""
        self.watch = RasaLogWatch(config.var_dir / "log" / "rasa.log")

    def checks(self) -> dict[str, Awaitable[None]]:
        """One awaitable per configured service."""
        cfg = self.config
        checks: dict[str, Awaitable[None]] = {}
        if cfg.tracker_store_url:
            checks["tracker_store"] = self._tracker_store()
        if cfg.lock_store_url:
            checks["lock_store"] = _redis(cfg.lock_store_url)
        if cfg.event_broker_url:
            checks["event_broker"] = _amqp(cfg.event_broker_url)
        return checks

    def url_of(self, name: str) -> str:
        """The service's URL without credentials."""
        return store_url(self.config, name)

    async def _tracker_store(self) -> None:
        import psycopg

        dsn = libpq_url(self.config.tracker_store_url)
        if self.before_start:
            dsn = dsn.rsplit("/", 1)[0] + "/" + ADMIN_DB
        async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(CHECK_TIMEOUT_S)) as conn:
            await conn.execute("SELECT 1")
        finding = self.watch.recent("tracker_store", FALLBACK_WINDOW_S)
        if finding is not None:
            raise FallbackSeen("Rasa fell back to an in-memory tracker store (see rasa.log)")


class FallbackSeen(Exception):
    """Rasa's log shows it used an in-memory store recently."""


async def _redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _amqp(url: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=CHECK_TIMEOUT_S)
    await connection.close()


async def infra_components(health: InfraHealth) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Component reports of the configured services, and which of them every turn needs."""
    checks = health.checks()
    results = await asyncio.gather(
        *(asyncio.wait_for(check, CHECK_TIMEOUT_S + 1) for check in checks.values()),
        return_exceptions=True,
    )
    report: dict[str, dict[str, Any]] = {}
    for name, result in zip(checks, results, strict=True):
        entry: dict[str, Any] = {"ok": True, "url": health.url_of(name), "required": name in REQUIRED}
        if isinstance(result, BaseException):
            entry["ok"] = False
            entry["error"] = str(result) if isinstance(result, FallbackSeen) else _reason(result)
        report[name] = entry
    return report, [name for name in report if name in REQUIRED]


def _reason(err: BaseException) -> str:
    """A short cause without the exception text (driver messages may quote connection strings)."""
    if isinstance(err, TimeoutError):
        return "no answer within the health-check timeout"
    return f"unreachable ({type(err).__name__})"


INFRA = web.AppKey("infra_health", InfraHealth)
