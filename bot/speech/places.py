"""So many places at once, each claimed by a slot, with blocking calls on the places' own threads.

Shared by the recogniser pool (``stt/pool``) and the synthesiser pool (``tts/pool``): what differs is
the error when every place is taken and how the threads start and stop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Slot:
    """One claim on a pool's places; released once (further calls do nothing)."""

    def __init__(self, pool: Places):
        self._pool: Places | None = pool

    def release(self) -> None:
        """Give the place back."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._release()


class Places:
    """``size`` places; ``busy()`` is raised when all are taken; ``run`` uses the pool's threads."""

    def __init__(self, size: int, executor: ThreadPoolExecutor):
        self.size = size
        self._executor = executor
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Places held now."""
        return self._in_use

    def busy(self) -> Exception:
        """The error of a claim when every place is taken."""
        raise NotImplementedError

    def acquire(self) -> Slot:
        """A place, or ``busy()`` when all are taken."""
        with self._lock:
            if self._in_use >= self.size:
                raise self.busy()
            self._in_use += 1
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._in_use = max(0, self._in_use - 1)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a pool thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
