"""Catch Rasa quietly running without its configured stores (in-memory tracker store, no broker).

Rasa 3.6 does not fail when its stores misbehave: the SQL tracker store retries its first connection
forever (``rasa/core/tracker_store.py`` ``SQLTrackerStore.__init__`` logs the driver's
``OperationalError`` every 5 s), ``FailSafeTrackerStore`` saves into an ``InMemoryTrackerStore``
when a save fails, and an unknown store type silently becomes the in-memory one. Two checks:

* ``RasaLogWatch`` reads Rasa's log for those exact lines (while starting, and from ``/healthz``);
* ``verify_tracker_writes`` appends a probe event through Rasa's API and looks for its row in the
  tracker database, then deletes it.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Config
from bot.conversation.dialogue import Dialogue, Reply
from bot.conversation.rasa_auth import rasa_headers
from bot.errors import APOLOGY, BotError, StackError
from bot.rasa.endpoints import redact
from bot.store.repo import PROBE_PREFIX

# (store, pattern) — the lines Rasa 3.6.21 logs when it runs without a configured store.
FALLBACK_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("tracker_store", re.compile(r"Falling back to use the 'InMemoryTrackerStore'")),
    ("tracker_store", re.compile(r"Using `InMemoryTrackerStore` instead")),
    ("tracker_store", re.compile(r"\(psycopg2\.OperationalError\)")),
    ("tracker_store", re.compile(r"Could not create (tables|database)")),
    ("event_broker", re.compile(r"Connecting to '.*' failed with error")),
    ("event_broker", re.compile(r"Not using any event broker")),
    ("lock_store", re.compile(r"redis\.exceptions\.(ConnectionError|TimeoutError)")),
)
_CODE = "tracker_store_unavailable"
"""Sender id prefix of start-up probe conversations (consumers of the event queue may skip them)."""


@dataclass(frozen=True)
class Finding:
    """One log line showing Rasa is not using a configured store."""

    store: str
    line: str
    seen_at: float


class RasaLogWatch:
    """Reads Rasa's log from a starting offset and reports fallback lines as they appear."""

    def __init__(self, log: Path, *, from_end: bool = True) -> None:
        self.log = log
        self._offset = log.stat().st_size if from_end and log.exists() else 0
        self._last: dict[str, Finding] = {}

    def poll(self) -> list[Finding]:
        """New findings since the previous poll."""
        try:
            with self.log.open("rb") as handle:
                if handle.seek(0, 2) < self._offset:
                    self._offset = 0  # the log was rotated or truncated
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        found = []
        for line in complete.decode("utf-8", "replace").splitlines():
            for store, pattern in FALLBACK_LINES:
                if pattern.search(line):
                    found.append(Finding(store, line.strip()[:300], time.time()))
        for finding in found:
            self._last[finding.store] = finding
        return found

    def recent(self, store: str, within_s: float) -> Finding | None:
        """The latest finding about ``store`` if it is at most ``within_s`` old."""
        return self.since(store, time.time() - within_s)

    def since(self, store: str, moment: float) -> Finding | None:
        """The latest finding about ``store`` if it was seen at or after ``moment`` (``time.time()``).

        Safe to share: a finding another reader polled first is still reported here.
        """
        self.poll()
        finding = self._last.get(store)
        return finding if finding is not None and finding.seen_at >= moment else None


def store_url(config: Config, store: str) -> str:
    """The configured URL of a store, without credentials."""
    url = {
        "tracker_store": config.tracker_store_url,
        "lock_store": config.lock_store_url,
        "event_broker": config.event_broker_url,
    }[store]
    return redact(url) if url else "(not configured)"


def fail_on_findings(config: Config, watch: RasaLogWatch) -> None:
    """StackError naming the store and its host when Rasa's log shows it is not used."""
    for finding in watch.poll():
        if store_url(config, finding.store) == "(not configured)":
            continue
        raise StackError(
            f"Rasa cannot use its {finding.store.replace('_', ' ')} at "
            f"{store_url(config, finding.store)} and would run without it (in memory); "
            f"refusing to start. Rasa said: {finding.line}",
            code=f"{finding.store}_unavailable",
        )


async def verify_tracker_writes(http: aiohttp.ClientSession, config: Config) -> None:
    """Append a probe event through Rasa and find its row in the tracker database (then delete it)."""
    if not config.tracker_store_url:
        return
    import psycopg

    sender = PROBE_PREFIX + secrets.token_hex(6)
    where = f"tracker store at {redact(config.tracker_store_url)}"
    url = f"{config.rasa_url}/conversations/{sender}/tracker/events"
    event = {"event": "action", "name": "action_listen"}
    async with http.post(url, json=event, headers=rasa_headers(config.rasa_token)) as resp:
        if resp.status != 200:
            raise StackError(
                f"Rasa refused the {where} probe (HTTP {resp.status})", code="tracker_store_unavailable"
            )
    try:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(config.tracker_store_url), connect_timeout=5
        ) as conn:
            cursor = await conn.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,))
            row = await cursor.fetchone()
            await conn.execute("DELETE FROM events WHERE sender_id = %s", (sender,))
    except psycopg.Error as err:
        raise StackError(
            f"cannot read the {where}: {type(err).__name__}", code="tracker_store_unavailable"
        ) from err
    if not row or not row[0]:
        raise StackError(
            f"Rasa did not write to the {where}: it is using an in-memory tracker store; refusing to start",
            code=_CODE,
        )


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL as libpq understands it (no ``+driver``)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


class TrackerGuardedDialogue:
    """A Dialogue that refuses a turn during which Rasa fell back to an in-memory tracker store.

    Rasa then answered from an empty conversation (the real one is unreachable) and kept the turn
    only in memory: the answer is replaced by the apology (503) and the turn is not stored, so the
    client may retry with the same ``turn_id`` once the store is back.
    """

    def __init__(self, inner: Dialogue, watch: RasaLogWatch) -> None:
        self._inner = inner
        self._watch = watch

    async def respond(self, sender: str, text: str) -> list[Reply]:
        """Run the turn; TrackerStoreFallback when Rasa logged a tracker-store fallback meanwhile."""
        self._watch.poll()
        started = time.time()
        replies = await self._inner.respond(sender, text)
        if self._watch.since("tracker_store", started) is not None:
            raise TrackerStoreFallback(APOLOGY)
        return replies

    async def health(self) -> dict[str, Any]:
        """The inner dialogue's health."""
        return await self._inner.health()

    async def parse(self, text: str) -> dict[str, Any]:
        """The inner dialogue's NLU parse (no tracker involved)."""
        return await self._inner.parse(text)


class TrackerStoreFallback(BotError):
    """Rasa answered without its tracker store."""

    code = "tracker_store_unavailable"
    status = 503
