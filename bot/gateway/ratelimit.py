"""Per-key token buckets: a burst is allowed, then requests refill at a steady rate.

The gateway keeps two kinds (``bot.gateway.guard``): one bucket per bearer token (every route that
takes a token), and one per *source* (client address) for failed authentications, so a flood of
made-up tokens is refused before it costs a database lookup.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.errors import BotError

Clock = Callable[[], float]


class RateLimited(BotError):
    """Too many requests for one key; ``retry_after_s`` says when the next one is allowed."""

    code = "rate_limited"
    status = 429

    def __init__(
        self, retry_after_s: float, message: str = "请求太频繁了，请稍后再试", code: str | None = None
    ):
        super().__init__(message, code=code or self.code, status=self.status)
        self.retry_after_s = retry_after_s


class RateLimiter:
    """Token buckets of ``burst`` tokens refilled at ``rate_per_s``, for at most ``max_keys`` keys."""

    def __init__(
        self, rate_per_s: float, burst: int, *, max_keys: int = 10_000, clock: Clock = time.monotonic
    ):
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key``; RateLimited when its bucket is empty."""
        now = self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens < 1.0:
                self._remember(key, tokens, now)
                raise RateLimited((1.0 - tokens) / self.rate_per_s)
            self._remember(key, tokens - 1.0, now)

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may take a token (0: now); nothing is taken."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate_per_s

    def charge(self, key: str) -> None:
        """Take one token for ``key`` without refusing (an attempt that already happened)."""
        now = self._clock()
        with self._lock:
            self._remember(key, max(0.0, self._tokens(key, now) - 1.0), now)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate_per_s)

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)


def retry_after_header(err: RateLimited) -> str:
    """Whole seconds for the ``Retry-After`` header (at least 1)."""
    return str(max(1, math.ceil(err.retry_after_s)))
