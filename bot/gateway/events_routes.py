"""``GET /api/v1/me/events``: the household event stream (server-sent events), one per panel.

Application changes are rows of ``ApplicationEvent`` whichever process wrote them (the action
server, any gateway worker), so one watcher per gateway process polls for new ids and wakes the
streams of the households concerned. A reconnecting panel sends ``Last-Event-ID`` (or ``?after=``)
and gets everything after it first: nothing is lost across reconnects. A second stream of the same
device replaces the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.errors import InputError
from bot.gateway.keys import ENGINE
from bot.gateway.routes import request_device
from bot.offers import journey
from bot.store.db import session_scope

_LOGGER = logging.getLogger(__name__)
table = web.RouteTableDef()
POLL_S = 0.25
"""How often the watcher looks for new events (a panel hears of a change within about this)."""
HEARTBEAT_S = 15.0
"""A comment line keeps idle streams (and proxies) open."""


@dataclass
class _Stream:
    household_id: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


class EventHub:
    """Wakes the open streams of households with new events; one per gateway process."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._streams: dict[int, _Stream] = {}
        self._watermark = 0
        self.closing = False

    def open(self, device_id: int, household_id: int) -> _Stream:
        """A stream for a device, replacing (closing) that device's earlier one."""
        old = self._streams.get(device_id)
        if old is not None:
            old.closed = True
            old.wake.set()
        stream = _Stream(household_id)
        self._streams[device_id] = stream
        return stream

    def release(self, device_id: int, stream: _Stream) -> None:
        """Forget a finished stream."""
        if self._streams.get(device_id) is stream:
            del self._streams[device_id]

    def close_all(self) -> None:
        """End every stream (gateway shutdown)."""
        self.closing = True
        for stream in self._streams.values():
            stream.closed = True
            stream.wake.set()

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """The watcher task for the lifetime of the context."""
        self._watermark = await asyncio.to_thread(self._latest)
        task = asyncio.create_task(self._watch(), name="household-events")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _latest(self) -> int:
        with session_scope(self._engine) as session:
            return journey.last_event_id(session)

    def _changed(self) -> dict[int, int]:
        with session_scope(self._engine) as session:
            return journey.households_with_events_after(session, self._watermark)

    async def _watch(self) -> None:
        while True:
            try:
                changed = await asyncio.to_thread(self._changed) if self._streams else {}
            except Exception:
                _LOGGER.exception("household event watcher failed")
                changed = {}
            if changed:
                self._watermark = max(self._watermark, *changed.values())
                for stream in self._streams.values():
                    if stream.household_id in changed:
                        stream.wake.set()
            elif not self._streams:
                self._watermark = await asyncio.to_thread(self._latest)
            await asyncio.sleep(POLL_S)


EVENTS = web.AppKey("events", EventHub)


def _after(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:  # 「²」 is a digit to isdigit()
        raise InputError("after / Last-Event-ID 必须是数字", code="bad_event_id")
    return int(raw)


@table.get("/api/v1/me/events")
async def household_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events of the caller's household: ``application`` events after ``after``."""
    device = await request_device(request)
    after = _after(request)
    engine, hub = request.app[ENGINE], request.app[EVENTS]
    if after is None:
        after = await asyncio.to_thread(_household_latest, engine, device.household_id)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    stream = hub.open(device.device_id, device.household_id)
    try:
        await response.write(f"event: hello\nid: {after}\ndata: {json.dumps({'after': after})}\n\n".encode())
        while not stream.closed and not hub.closing:
            stream.wake.clear()  # before reading: a change landing meanwhile wakes the next round
            for event in await asyncio.to_thread(_events, engine, device.household_id, after):
                data = json.dumps(event.as_json(), ensure_ascii=False)
                await response.write(f"event: application\nid: {event.event_id}\ndata: {data}\n\n".encode())
                after = event.event_id
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.wake.wait(), HEARTBEAT_S)
                continue
            await response.write(b": ping\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.release(device.device_id, stream)
    return response


def _events(engine: Engine, household_id: int, after: int) -> list[journey.HouseholdEvent]:
    with session_scope(engine) as session:
        return journey.events_after(session, household_id, after)


def _household_latest(engine: Engine, household_id: int) -> int:
    with session_scope(engine) as session:
        return journey.last_event_id(session, household_id)
