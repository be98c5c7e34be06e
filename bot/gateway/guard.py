"""Who is calling, and how much they may ask: the limits every authenticated route passes through.

- **Per token**: a bucket of ``burst`` requests refilled at ``rate_per_s`` (every route that takes a
  bearer token, ``/api/v1/nlu/parse`` and the studio included).
- **Per source, on failure**: every failed authentication takes one of its source's
  ``auth_failure_burst`` tries (refilled at ``auth_failure_rate_per_s``). A token the gateway has
  not seen succeed lately is looked up only while its source has tries left, and at most
  ``auth_lookups_per_source`` such lookups of one source run at once (the others wait their turn,
  then check the tries again); concurrent requests with one such token share one lookup. A source
  whose tries are used up is refused with ``auth_throttled`` (429) before any database work, so a
  thousand made-up tokens cost about ``auth_failure_burst + auth_lookups_per_source`` lookups, and
  none of them gets a fresh burst, while fifty devices behind one address that start at once only
  wait a moment. Tokens that authenticated lately are still looked up every time (revocation is
  immediate) but are not held back by their source's failures.
- **Source**: the peer address; behind a proxy listed in ``trusted_proxies`` the last address of
  ``X-Forwarded-For`` (the one the proxy appended itself, not what the client wrote).

Each gateway process keeps its own buckets (docs/security.md: several workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from bot.gateway.ratelimit import RateLimited, RateLimiter
from bot.gateway.settings import GatewaySettings
from bot.store.repo import Principal

KNOWN_TTL_S = 3600.0
"""How long a token that authenticated stays exempt from its source's failure budget."""
MAX_TOKEN_CHARS = 256
"""Longer bearer tokens are refused without a lookup (issued ones are 47 characters, demo ones fewer)."""


class AuthThrottled(RateLimited):
    """Too many failed authentications from one source."""

    code = "auth_throttled"

    def __init__(self, retry_after_s: float):
        super().__init__(retry_after_s, "验证失败次数太多，请稍后再试", code=self.code)


class RecentTokens:
    """Hashes of tokens that authenticated lately (bounded; the least recent are forgotten)."""

    def __init__(self, ttl_s: float = KNOWN_TTL_S, max_keys: int = 10_000):
        self._ttl_s, self._max = ttl_s, max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            until = self._seen.get(str(key))
            return until is not None and until > time.monotonic()

    def add(self, key: str) -> None:
        """``key`` authenticated now."""
        with self._lock:
            self._seen.pop(key, None)
            self._seen[key] = time.monotonic() + self._ttl_s
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def forget(self, key: str) -> None:
        """``key`` failed (revoked, expired)."""
        with self._lock:
            self._seen.pop(key, None)


class Lanes:
    """At most ``width`` holders per key at once (per-key semaphores, forgotten when unused)."""

    def __init__(self, width: int):
        self.width = width
        self._lanes: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def lane(self, key: str) -> AsyncIterator[None]:
        """Hold one of ``key``'s lanes (waiting for one when all are taken)."""
        semaphore, users = self._lanes.get(key, (asyncio.Semaphore(self.width), 0))
        self._lanes[key] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._lanes[key]
            if users <= 1:
                del self._lanes[key]
            else:
                self._lanes[key] = (semaphore, users - 1)


@dataclass
class Guard:
    """The authentication limits of one gateway process."""

    tokens: RateLimiter
    """Per token hash: every authenticated request."""
    failures: RateLimiter
    """Per source: authentications that failed (or are still unproven)."""
    proxies: frozenset[str]
    known: RecentTokens = field(default_factory=RecentTokens)
    lanes: Lanes = field(default_factory=lambda: Lanes(4))
    """Concurrent lookups of unproven tokens, per source."""
    flights: dict[str, asyncio.Future[Principal]] = field(default_factory=dict)
    """Lookups of unproven tokens in progress, by token hash (concurrent requests share one)."""

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Guard:
        """The limits the settings ask for."""
        return cls(
            RateLimiter(settings.rate_per_s, settings.burst),
            RateLimiter(settings.auth_failure_rate_per_s, settings.auth_failure_burst),
            trusted_proxies(settings.trusted_proxies),
            lanes=Lanes(settings.auth_lookups_per_source),
        )

    def source(self, request: web.Request) -> str:
        """The caller's address (the trusted proxy's view of it behind a listed proxy)."""
        peer = request.remote or "unknown"
        if peer in self.proxies:
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded
        return peer


def trusted_proxies(listed: str) -> frozenset[str]:
    """The addresses of ``trusted_proxies`` (comma-separated IPs, checked by the settings)."""
    out = set()
    for part in listed.split(","):
        try:
            out.add(str(ipaddress.ip_address(part.strip())))
        except ValueError:
            continue
    return frozenset(out)


GUARD = web.AppKey("guard", Guard)
