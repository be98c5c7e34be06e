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
from concurrent.futures import ThreadPoolExecutor

from bot.speech.places import Places, Slot
from bot.speech.stt.base import SttError

_LOGGER = logging.getLogger(__name__)
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


class RecogniserPool(Places):
    """``size`` concurrent utterances; their blocking recogniser calls run on reniced threads."""

    def __init__(self, size: int, nice: int = 5, retry_after_s: float = 2.0):
        executor = ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="stt", initializer=_lower_priority, initargs=(nice,)
        )
        super().__init__(size, executor)
        self._retry_after_s = retry_after_s
        self._waiting = 0

    def busy(self) -> SttBusy:
        """Every recogniser is in use: try again after ``retry_after_s``."""
        return SttBusy("语音识别正忙，请稍后再说或用文字输入", self._retry_after_s)

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

    def close(self) -> None:
        """Stop the threads (after the calls in flight)."""
        self._executor.shutdown(wait=True)
