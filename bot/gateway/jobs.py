"""Background work of the gateway: Rasa tracker erasure (with the conversations' events still queued
in the broker) and the periodic retention sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from aiohttp import web

from bot.analytics.purge import PurgeError, purge_queued
from bot.config import Config
from bot.conversation.erasure import sweep
from bot.conversation.trackers import NoTrackers, RasaApiTrackers, SqlTrackers, TrackerEraser
from bot.errors import BotError
from bot.gateway.keys import ENGINE, HTTP, SETTINGS
from bot.store.db import utcnow

_LOGGER = logging.getLogger(__name__)
TRACKERS = web.AppKey("trackers", TrackerEraser)
"""Erases Rasa's trackers of a household's conversations (the gateway alone holds Rasa's token)."""


def make_trackers(app: web.Application, config: Config, real_rasa: bool) -> TrackerEraser:
    """The SQL tracker store when configured, else Rasa's HTTP API; nothing without a real Rasa.
    With an event broker, the conversations' queued events go too."""
    trackers: TrackerEraser = NoTrackers()
    if config.tracker_store_url:
        trackers = SqlTrackers(config.tracker_store_url)
    elif real_rasa and config.rasa_token:
        trackers = RasaApiTrackers(app[HTTP], config.rasa_url, config.rasa_token)
    if config.event_broker_url:
        return QueuedEventsToo(trackers, config.event_broker_url, config.event_queue)
    return trackers


def finished_conversations(app: web.Application, config: Config, real_rasa: bool) -> TrackerEraser | None:
    """Where the turns release Rasa's copy of a conversation a device has left: Rasa's in-memory
    tracker store (the embedded profile), which would otherwise keep every conversation, as event
    objects or JSON, for as long as Rasa runs. Not the SQL tracker store of the production profile
    (rows on disk, for its operators to keep or prune), nor events still queued for analytics."""
    if real_rasa and config.rasa_token and not config.tracker_store_url:
        return RasaApiTrackers(app[HTTP], config.rasa_url, config.rasa_token)
    return None


class QueuedEventsToo:
    """Erasing trackers also drops those conversations' events still waiting in Rasa's broker queue.

    A broker that cannot be reached does not stop the erasure (the queue's TTL drops them); it is logged.
    """

    def __init__(self, trackers: TrackerEraser, url: str, queue: str):
        self._trackers, self._url, self._queue = trackers, url, queue
        self.dropped = 0
        """Queued events dropped so far (for tests and logs)."""

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        """Trackers first (their failure stops everything), then the queued events."""
        await self._trackers.erase(conversation_ids)
        try:
            self.dropped += await purge_queued(self._url, self._queue, conversation_ids)
        except PurgeError as err:
            _LOGGER.warning(
                "erasure: queued events not dropped now (%s); the queue's TTL drops them", err.code
            )


async def _sweep_forever(app: web.Application) -> None:
    settings = app[SETTINGS]
    keep = timedelta(hours=settings.turn_retention_hours)
    while True:
        await asyncio.sleep(settings.sweep_interval_s)
        try:
            turns, convs, expired = await sweep(app[ENGINE], app[TRACKERS], utcnow(), keep)
            if turns or convs or expired:
                _LOGGER.info(
                    "retention: %d turns, %d conversations removed; %d applications expired",
                    turns,
                    convs,
                    expired,
                )
        except BotError as err:
            _LOGGER.warning("retention sweep failed: %s", err.code)
        except Exception:  # the job must outlive one bad run; the next one retries
            _LOGGER.exception("retention sweep failed")


async def retention(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: run the retention sweep every ``sweep_interval_s`` while the gateway runs."""
    task = asyncio.create_task(_sweep_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
