"""Recent database write failures, so ``/healthz`` shows a locked or full database as red.

``SELECT 1`` still answers while another process holds SQLite's write lock or the disk is full, yet
no turn can be recorded. The gateway's error middleware notes every ``StoreError`` here and every
turn that was answered; the ``database`` component stays red while the latest write failed (at
most ``window_s`` after it, so a healed database turns green again without traffic).
"""

from __future__ import annotations

import time

from aiohttp import web

from bot.errors import StoreError

WINDOW_S = 30.0


class StoreHealth:
    """Whether the latest database write of this gateway process failed (and when)."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._window_s = window_s
        self._failed_at: float | None = None
        self._code = ""

    def failed(self, err: StoreError) -> None:
        """A request failed because the database did."""
        self._failed_at, self._code = time.monotonic(), err.code

    def succeeded(self) -> None:
        """A turn was answered (and recorded)."""
        self._failed_at = None

    def check(self) -> None:
        """Raise StoreError while the latest write failure is recent."""
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._window_s:
            ago = time.monotonic() - self._failed_at
            raise StoreError(f"数据库写入失败（{ago:.0f} 秒前，{self._code}）")


STORE_HEALTH = web.AppKey("store_health", StoreHealth)
