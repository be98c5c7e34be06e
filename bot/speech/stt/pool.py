"""A bounded recogniser pool: so many utterances decoded at once, on threads of lower CPU priority.

Voice must never starve text turns on a small box: decoding runs on the pool's own threads, reniced
so the scheduler prefers the dialogue (Rasa, the gateway) when both want the cores. A streamed
utterance beyond the pool's size is refused at once with ``stt_busy`` and a retry hint (the speaker is
talking now); an uploaded recording may wait a few seconds for a slot, in a queue no longer than the
pool, before it is refused the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.speech.stt.base import SttError

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
_POLL_S = 0.05
"""How often a waiting upload looks for a free slot."""


class SttBusy(SttError):
    """Every recogniser of the pool is in use."""

    code = "stt_busy"
    status = 503

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """When a slot is likely free again (seconds)."""


def _lower_priority(nice: int) -> None:
    """Renice the calling thread (Linux schedules threads by their own nice value)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (OSError, AttributeError) as err:  # not permitted or not Linux: run at normal priority
        _LOGGER.info("recogniser threads keep normal priority: %s", err)


class Slot:
    """One utterance's claim on the pool; released once (further calls do nothing)."""

    def __init__(self, pool: RecogniserPool):
        self._pool: RecogniserPool | None = pool

    def release(self) -> None:
        """Give the slot back."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._release()


class RecogniserPool:
    """``size`` concurrent utterances; their blocking recogniser calls run on reniced threads."""

    def __init__(self, size: int, nice: int = 5, retry_after_s: float = 2.0):
        self.size = size
        self._retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="stt", initializer=_lower_priority, initargs=(nice,)
        )
        self._lock = threading.Lock()
        self._in_use = 0
        self._waiting = 0

    @property
    def in_use(self) -> int:
        """Slots held now."""
        return self._in_use

    def acquire(self) -> Slot:
        """A slot for one utterance, or SttBusy (503, with ``retry_after_s``) when all are taken."""
        with self._lock:
            if self._in_use >= self.size:
                raise SttBusy("语音识别正忙，请稍后再说或用文字输入", self._retry_after_s)
            self._in_use += 1
        return Slot(self)

    async def claim(self, wait_s: float) -> Slot:
        """A slot, waiting up to ``wait_s`` for one (at most ``size`` callers wait); else SttBusy."""
        try:
            return self.acquire()
        except SttBusy:
            if wait_s <= 0 or self._waiting >= self.size:
                raise
        self._waiting += 1
        try:
            deadline = time.monotonic() + wait_s
            while True:
                await asyncio.sleep(_POLL_S)
                try:
                    return self.acquire()
                except SttBusy:
                    if time.monotonic() >= deadline:
                        raise
        finally:
            self._waiting -= 1

    def _release(self) -> None:
        with self._lock:
            self._in_use = max(0, self._in_use - 1)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a pool thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        """Stop the threads (after the calls in flight)."""
        self._executor.shutdown(wait=True)
