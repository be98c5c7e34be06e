"""A bounded synthesiser pool: so many answers spoken at once, waited for on the pool's own threads.

The synthesiser itself is one engine thread fed by a queue (``worker``); whoever waits for its next
sentence holds a thread meanwhile. Those waits run here, never on the threads that serve database
work, and an answer beyond the pool's size is refused at once with ``tts_busy`` (its text is still
shown) instead of queueing behind every other household's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.speech.tts.base import TtsError

T = TypeVar("T")


class TtsBusy(TtsError):
    """Every place of the pool is taken."""

    code = "tts_busy"
    status = 503


class SynthSlot:
    """One answer's claim on the pool; released once (further calls do nothing)."""

    def __init__(self, pool: SynthPool):
        self._pool: SynthPool | None = pool

    def release(self) -> None:
        """Give the place back."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._release()


class SynthPool:
    """``size`` answers spoken at once; their blocking waits run on the pool's threads."""

    def __init__(self, size: int):
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tts")
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Places held now."""
        return self._in_use

    def acquire(self) -> SynthSlot:
        """A place for one answer, or TtsBusy (503) when all are taken."""
        with self._lock:
            if self._in_use >= self.size:
                raise TtsBusy("语音播报正忙，请看屏幕上的文字")
            self._in_use += 1
        return SynthSlot(self)

    def _release(self) -> None:
        with self._lock:
            self._in_use = max(0, self._in_use - 1)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a pool thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        """Stop the threads (calls in flight finish first)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
