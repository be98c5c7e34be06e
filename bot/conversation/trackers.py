"""Erasing Rasa's trackers of given conversations: through Rasa's HTTP API, or in its SQL store.

Rasa 3.6 has no "delete tracker" endpoint. ``PUT /conversations/<id>/tracker/events`` with no
events replaces a tracker in Rasa's in-memory store (under Rasa's conversation lock); Rasa's SQL
tracker store only ever appends, so there the rows are deleted from its ``events`` table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.conversation.rasa_auth import RasaAuth
from bot.errors import BotError

_LOGGER = logging.getLogger(__name__)


class TrackerEraseError(BotError):
    """A tracker could not be erased; nothing else was erased either (retry later)."""

    code = "tracker_erase_failed"
    status = 503


class TrackerEraser(Protocol):
    """Forgets everything Rasa stored about some conversations."""

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        """Erase those trackers, or raise TrackerEraseError."""


class RasaApiTrackers:
    """Rasa's HTTP API (in-memory tracker store): replace each tracker with an empty one."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float = 10.0):
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = RasaAuth(token)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        """``PUT .../tracker/events`` with ``[]`` for each conversation."""
        for sender in conversation_ids:
            url = f"{self._base}/conversations/{sender}/tracker/events"
            try:
                async with self._http.put(
                    url, json=[], headers=self._auth.headers(), timeout=self._timeout
                ) as resp:
                    ok = resp.status == 200
            except (TimeoutError, aiohttp.ClientError) as err:
                raise TrackerEraseError("对话记录暂时无法删除，请稍后再试") from err
            if not ok:
                _LOGGER.warning("Rasa refused to erase a tracker: HTTP %s", resp.status)
                raise TrackerEraseError("对话记录暂时无法删除，请稍后再试")


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as a psycopg 3 SQLAlchemy URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


class SqlTrackers:
    """Rasa's SQL tracker store: delete the conversations' rows from its ``events`` table."""

    def __init__(self, url: str):
        self._url = sqlalchemy_url(url)

    def _delete(self, conversation_ids: Sequence[str]) -> None:
        engine = create_engine(self._url, pool_pre_ping=True)
        try:
            with engine.begin() as conn:
                for sender in conversation_ids:
                    conn.execute(text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender})
        except SQLAlchemyError as err:
            raise TrackerEraseError("对话记录暂时无法删除，请稍后再试") from err
        finally:
            engine.dispose()

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        """One transaction for all of them."""
        if conversation_ids:
            await asyncio.to_thread(self._delete, list(conversation_ids))


class NoTrackers:
    """No Rasa behind the gateway (tests with an injected dialogue): nothing to erase."""

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        """Nothing."""
