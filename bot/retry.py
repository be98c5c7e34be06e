"""Back-off between retries of long-running consumers (analytics queue, MQTT ingest)."""

from __future__ import annotations

import asyncio
import contextlib


class Backoff:
    """Exponential back-off delays: ``initial``, doubled each time, capped; ``reset`` after success."""

    def __init__(self, initial: float = 0.5, cap: float = 30.0) -> None:
        self.initial, self.cap = initial, cap
        self._next = initial

    def next(self) -> float:
        """The delay to wait now."""
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay."""
        self._next = self.initial


async def sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    """Sleep ``delay`` seconds, or less when ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
