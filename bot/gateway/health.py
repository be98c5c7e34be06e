"""``/healthz`` for everyone, details for operators: one shared, short-lived report per process.

Computing the report opens connections to the database, Rasa, the action server and the
configured services. A public, unauthenticated endpoint must not let every caller do that, so the
report is computed at most once per ``health_cache_s`` (concurrent callers wait for the same
computation) and an anonymous caller sees only ``{"status"}``. An admin token sees every component.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.store.models import TokenRole

Report = tuple[dict[str, Any], int]
"""The full body and its HTTP status."""


class HealthCache:
    """The latest report, recomputed when older than ``ttl_s`` by one caller at a time."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._report: Report | None = None
        self._at = 0.0
        self.computed = 0
        """How many times a report was computed (tests count backend work with it)."""

    def _fresh(self) -> Report | None:
        if self._report is not None and self._clock() - self._at < self._ttl_s:
            return self._report
        return None

    async def get(self, compute: Callable[[], Awaitable[Report]]) -> Report:
        """The cached report, or a new one (callers arriving meanwhile share it)."""
        if (report := self._fresh()) is not None:
            return report
        async with self._lock:
            if (report := self._fresh()) is not None:
                return report
            self._report = await compute()
            self._at = self._clock()
            self.computed += 1
            return self._report


def public(body: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous caller may see: the overall status, no component, address or version."""
    return {"status": body["status"]}


def sees_details(role: str | None) -> bool:
    """Operators (admin tokens) see the components."""
    return role == TokenRole.ADMIN.value


HEALTH_CACHE = web.AppKey("health_cache", HealthCache)
