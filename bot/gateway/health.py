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
        self.roles = RecentRoles()
        """Who authenticated lately (``/healthz`` while the database is down)."""
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


class RecentRoles:
    """Roles of tokens that authenticated lately, by token hash: an operator still sees the details
    while the database that would authenticate them is down (the outage is what they look for)."""

    def __init__(self, ttl_s: float = 900.0, size: int = 256, clock: Callable[[], float] = time.monotonic):
        self._ttl_s, self._size, self._clock = ttl_s, size, clock
        self._roles: dict[str, tuple[str, float]] = {}

    def remember(self, token_hash: str, role: str) -> None:
        """Note that ``token_hash`` authenticated as ``role`` just now."""
        self._roles.pop(token_hash, None)
        self._roles[token_hash] = (role, self._clock())
        while len(self._roles) > self._size:
            self._roles.pop(next(iter(self._roles)))

    def recall(self, token_hash: str) -> str | None:
        """The role ``token_hash`` had within ``ttl_s``, else None."""
        found = self._roles.get(token_hash)
        return found[0] if found is not None and self._clock() - found[1] < self._ttl_s else None


SPEECH = ("stt", "tts")
"""Components a device may see (a panel disables push-to-talk without a recogniser)."""


def view(body: dict[str, Any], role: str | None) -> dict[str, Any]:
    """What a caller may see: an admin every component; a device the status and whether speech is
    up; anyone else the overall status only (no component, address or version)."""
    if role == TokenRole.ADMIN.value:
        return body
    if role == TokenRole.DEVICE.value:
        components = body.get("components", {})
        speech = {name: {"ok": bool(components[name].get("ok"))} for name in SPEECH if name in components}
        return {"status": body["status"], "components": speech}
    return {"status": body["status"]}


HEALTH_CACHE = web.AppKey("health_cache", HealthCache)
