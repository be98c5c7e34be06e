"""What a voice websocket may hold: places (per device, per source before authentication, per
process), time (to authenticate, idle, per run) and output waiting for a slow client.

- A socket opened with an ``Authorization`` header is authenticated before the upgrade and takes one
  of its device's ``ws_per_token`` places (429 ``too_many_connections`` before the upgrade).
- A socket opened without one (browsers) takes one of its source's ``ws_pending_per_source``
  places (429 ``too_many_pending``) and must send its token within ``ws_auth_timeout_s``, or it is
  closed (``auth_timeout``, close code 1008); once authenticated it moves to its device's places.
- Either kind counts against ``ws_max`` per process (503 ``voice_busy``).
- Output waits in an :class:`Outbox` of at most ``ws_send_buffer_bytes``; a client that lets more
  pile up, or does not take one message within ``ws_send_timeout_s``, is closed (``slow_consumer``).
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.gateway.caps import Caps, Refusal
from bot.gateway.settings import GatewaySettings

CLOSE_POLICY = 1008
"""Websocket close code for a client that broke a limit (the reason names our error code)."""

Item = dict[str, Any] | bytes
"""One outgoing message: a JSON event or a WAV chunk."""


@dataclass
class VoiceLimits:
    """The voice websockets' places of one gateway process."""

    open: Caps
    """Authenticated sockets, by device."""
    pending: Caps
    """Sockets still waiting for their token, by source."""

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> VoiceLimits:
        """Caps as configured."""
        full = Refusal("voice_busy", "语音连接太多，请稍后再试或用文字输入")
        return cls(
            open=Caps(
                settings.ws_max,
                settings.ws_per_token,
                full=full,
                mine=Refusal("too_many_connections", "这台设备打开的语音连接太多了，请先关闭其他连接"),
            ),
            pending=Caps(
                settings.ws_max,
                settings.ws_pending_per_source,
                full=full,
                mine=Refusal("too_many_pending", "未验证的语音连接太多，请稍后再试"),
            ),
        )


VOICE = web.AppKey("voice", VoiceLimits)


def _size(item: Item) -> int:
    return len(item) if isinstance(item, bytes) else 256  # an event is a few hundred bytes at most


class Outbox:
    """Outgoing messages in order, at most ``max_bytes`` of them waiting."""

    def __init__(self, max_bytes: int):
        self._max = max_bytes
        self._items: collections.deque[Item | None] = collections.deque()
        self._bytes = 0
        self._ready = asyncio.Event()

    @property
    def waiting_bytes(self) -> int:
        """Bytes waiting to be sent."""
        return self._bytes

    def put(self, item: Item) -> bool:
        """Queue ``item``; False (nothing queued) when it would exceed the budget."""
        size = _size(item)
        if self._bytes + size > self._max and self._items:
            return False
        self._items.append(item)
        self._bytes += size
        self._ready.set()
        return True

    def end(self) -> None:
        """No more items: ``get`` returns None once the queue is empty."""
        self._items.append(None)
        self._ready.set()

    async def get(self) -> Item | None:
        """The next item (None: the end)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        if item is not None:
            self._bytes -= _size(item)
        return item
