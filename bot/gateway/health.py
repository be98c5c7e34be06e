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
