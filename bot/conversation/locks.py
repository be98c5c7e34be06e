"""Per-device turn locks: in-process by default, Redis when several gateway workers share devices.

Holding a device's lock around "look up the stored outcome → run the turn → store the outcome" is
what makes turns of one device sequential and a repeated ``turn_id`` yield one outcome, whichever
worker each request lands on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Protocol

from bot.errors import APOLOGY, BotError

_LOGGER = logging.getLogger(__name__)


class LockUnavailable(BotError):
    """The shared lock service (Redis) cannot be reached: the turn is not run at all."""

    code = "lock_unavailable"
    status = 503


class DeviceLocks(Protocol):
    """Mutual exclusion of the turns of one device."""

    def hold(self, device_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the device's lock for the block; LockUnavailable when it cannot be taken."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class LocalLocks:
    """One ``asyncio.Lock`` per device: enough for a single gateway process."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, device_id: int) -> AsyncIterator[None]:
        """Hold the device's lock for the block."""
        lock = self._locks.setdefault(device_id, asyncio.Lock())
        async with lock:
            yield

    async def close(self) -> None:
        """Nothing to release."""


class RedisLocks:
    """A Redis lock per device, shared by every gateway worker using the same Redis and prefix.

    ``timeout_s`` bounds how long a crashed holder blocks the device (the lock expires);
    ``wait_s`` bounds how long a turn waits for its predecessor.
    """

    def __init__(self, url: str, prefix: str, *, timeout_s: float = 60.0, wait_s: float = 60.0) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import ConnectionError as RedisConnectionError

        # A pooled connection that died with a Redis restart fails once: retry it on a fresh one.
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=3, retry_on_error=[RedisConnectionError]
        )
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._wait_s = wait_s

    def key(self, device_id: int) -> str:
        """The Redis key of a device's lock."""
        return f"{self._prefix}:turnlock:device:{device_id}"

    @contextlib.asynccontextmanager
    async def hold(self, device_id: int) -> AsyncIterator[None]:
        """Hold the device's lock for the block; LockUnavailable when Redis fails or it stays taken."""
        from redis.exceptions import LockError, RedisError

        lock = self._redis.lock(
            self.key(device_id), timeout=self._timeout_s, blocking_timeout=self._wait_s, sleep=0.05
        )
        try:
            acquired = await lock.acquire()
        except RedisError as err:
            _LOGGER.warning("turn lock unavailable: %s", type(err).__name__)
            raise LockUnavailable(APOLOGY) from err
        if not acquired:
            raise LockUnavailable(APOLOGY)
        try:
            yield
        finally:
            with contextlib.suppress(LockError, RedisError):
                await lock.release()

    async def ping(self) -> None:
        """Raise when Redis does not answer."""
        await self._redis.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def make_locks(lock_store_url: str, prefix: str) -> DeviceLocks:
    """Redis locks when a lock store is configured, in-process locks otherwise."""
    return RedisLocks(lock_store_url, prefix) if lock_store_url else LocalLocks()
