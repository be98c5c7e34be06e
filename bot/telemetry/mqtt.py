"""MQTT telemetry ingest: vendor payloads from ``<prefix>/<source>/telemetry/<format>``, one result each.

Topic scheme (``<prefix>``: the path of ``mqtt_url``, default ``bot``; ``<source>``: the publishing
hub or vendor gateway, ``[A-Za-z0-9_-]{1,64}``; ``<format>``: a name in ``formats.ADAPTERS``):

- in:  ``<prefix>/<source>/telemetry/<format>`` — the payload is exactly a file of that format;
- out: ``<prefix>/<source>/telemetry/result`` — JSON ``{"status": "ok"|"error", "format",
  "payload_sha256", "stored", "skipped", "rejected": [{index, where, reason}], "error": {code,
  message}|null}``. ``payload_sha256`` lets the publisher match results to what it sent.

``<source>`` is the hub: ``hub-<device id>`` of a paired hub with a live token; the ingest stores
readings only for that hub's household's devices (``bot.telemetry.ingest``). Which client may publish
under which ``<source>`` is the broker's job (per-hub credentials and an ACL, docs/telemetry.md).

The ingest acknowledges a message to the broker only after its result is published (manual acks),
so the broker's in-flight window bounds the messages waiting in the ingest and everything else waits
in the persistent session. A payload the database keeps refusing while it answers is recorded (logged
with its SHA-256), answered ``not_stored`` and skipped, never retried forever.

Every message gets a result: an unknown format, a non-UTF-8, oversized or unreadable payload gets an
``error`` result; nothing crashes the loop. Subscriptions and results use QoS 1 on a persistent
session (fixed client id, ``clean_session=False``), so payloads published while the ingest is down
are delivered when it reconnects. The broker acknowledges a payload on receipt (MQTT has no
application ack), so the result is the application-level ack: a publisher that gets none re-sends,
which is harmless because re-sent readings are skipped, never counted twice (``bot.telemetry.ingest``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiomqtt
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.errors import BotError, ConfigError, StoreError
from bot.periods import DEFAULT_TZ
from bot.retry import Backoff, sleep_or_stop
from bot.store.db import make_engine, ping, session_scope, utcnow
from bot.store.models import ApiToken, Device, TokenRole
from bot.store.repo import aware
from bot.telemetry.formats import ADAPTERS
from bot.telemetry.ingest import IngestReport, import_payload

_LOGGER = logging.getLogger(__name__)

RESULT = "result"
"""Reserved last topic level: results, never a format."""
MAX_PAYLOAD = 1_000_000
"""Largest payload accepted (bytes); bigger ones get an error result."""
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Ingest = Callable[[str, str, str], IngestReport]
"""Stores one payload (source, format, text); raises an InputError (unusable, not allowed) or StoreError."""
POISON_ATTEMPTS = 3
"""A payload that fails this often while the database answers is recorded and skipped."""


@dataclass(frozen=True)
class Route:
    """Where a telemetry message came from and how to read it."""

    source: str
    format: str


def subscription(prefix: str) -> str:
    """The topic filter the ingest subscribes to."""
    return f"{prefix}/+/telemetry/+"


def route(topic: str, prefix: str) -> Route | None:
    """The route of a topic, or None for topics that are not telemetry input (results included)."""
    parts = topic.split("/")
    head = prefix.split("/")
    if len(parts) != len(head) + 3 or parts[: len(head)] != head or parts[-2] != "telemetry":
        return None
    source, fmt = parts[-3], parts[-1]
    if fmt == RESULT or not _SOURCE.match(source):
        return None
    return Route(source, fmt)


def result_topic(prefix: str, source: str) -> str:
    """Where the result of a payload from ``source`` is published."""
    return f"{prefix}/{source}/telemetry/{RESULT}"


def _result(fmt: str, digest: str, report: IngestReport | None, error: BotError | None) -> dict[str, Any]:
    rejected = (
        []
        if report is None
        else [{"index": r.index, "where": r.where, "reason": r.reason} for r in report.rejected]
    )
    return {
        "status": "error" if error is not None else "ok",
        "format": fmt,
        "payload_sha256": digest,
        "stored": report.stored if report else 0,
        "skipped": report.skipped if report else 0,
        "rejected": rejected,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


def _error(fmt: str, digest: str, code: str, message: str) -> dict[str, Any]:
    return _result(fmt, digest, None, BotError(message, code=code))


def handle(route_: Route, payload: bytes, ingest: Ingest) -> dict[str, Any]:
    """The result of one payload. Raises StoreError only (the caller retries); never anything else."""
    digest = hashlib.sha256(payload).hexdigest()
    if route_.format not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        return _error(
            route_.format, digest, "unknown_format", f"unknown format {route_.format!r}; known: {known}"
        )
    if len(payload) > MAX_PAYLOAD:
        return _error(route_.format, digest, "too_large", f"payload over {MAX_PAYLOAD} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return _error(route_.format, digest, "bad_telemetry_file", f"payload is not UTF-8: {err}")
    try:
        return _result(route_.format, digest, ingest(route_.source, route_.format, text), None)
    except StoreError:
        raise
    except BotError as err:
        return _result(route_.format, digest, None, err)
    except Exception as err:  # one bad payload must never stop the ingest
        _LOGGER.exception("mqtt: unexpected failure on a %s payload", route_.format)
        return _error(route_.format, digest, "internal_error", type(err).__name__)


@dataclass(frozen=True)
class Broker:
    """Where the broker is and which topics are ours, from ``mqtt_url``.

    ``mqtt://[user:pass@]host[:port][/prefix][?client_id=ID]``: the path is the topic prefix
    (default ``bot``), so several stacks can share one broker; the client id (default derived from
    the prefix) names the persistent session that keeps payloads while the ingest is down.
    """

    host: str
    port: int = 1883
    prefix: str = "bot"
    client_id: str = "bot-ingest-bot"
    username: str | None = None
    password: str | None = None


def broker(url: str) -> Broker:
    """Parse ``mqtt_url``; ConfigError when it is not an ``mqtt://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigError(
            f"mqtt_url 应为 mqtt://主机:端口/前缀，收到 {parts.scheme}://{parts.hostname or ''}"
        )
    prefix = parts.path.strip("/") or "bot"
    if any(ch in prefix for ch in "+#") or "//" in prefix:
        raise ConfigError(f"mqtt_url 的主题前缀无效: {prefix!r}")
    query = dict(parse_qsl(parts.query))
    client_id = query.get("client_id") or f"bot-ingest-{prefix.replace('/', '-')}-{socket.gethostname()}"
    return Broker(parts.hostname, parts.port or 1883, prefix, client_id, parts.username, parts.password)


class MqttIngest:
    """The I/O loop: subscribe, handle each message in order, publish its result, reconnect on loss."""

    def __init__(self, where: Broker, ingest: Ingest) -> None:
        self.where, self.ingest, self.prefix = where, ingest, where.prefix
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set whenever a connection is subscribed (tests wait on it)."""
        self.handled = 0
        self.backoff = Backoff(initial=0.5, cap=30.0)
        """Between reconnection attempts."""
        self.retry_initial_s = 0.5
        """First delay before retrying a payload while the database is down."""
        self.database_up: Callable[[], None] | None = None
        """Raises StoreError while the database is down (tells a poison payload from an outage)."""
        self.poisoned = 0

    async def run(self) -> None:
        """Run until ``stop`` is set, reconnecting with back-off."""
        while not self.stop.is_set():
            try:
                await self._session()
            except aiomqtt.MqttError as err:
                self.ready.clear()
                delay = self.backoff.next()
                _LOGGER.warning("mqtt: connection lost (%s); reconnecting in %.1fs", err, delay)
                await sleep_or_stop(self.stop, delay)

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.where.host,
            self.where.port,
            username=self.where.username,
            password=self.where.password,
            identifier=self.where.client_id,
            clean_session=False,
            timeout=10,
        ) as client:
            # ack each message only once its result is out: the broker's in-flight window (Mosquitto
            # max_inflight_messages, default 20) then bounds what waits here; the rest stays queued
            # in the persistent session on the broker, and nothing acknowledged is lost on a crash
            client._client.manual_ack_set(True)
            await client.subscribe(subscription(self.prefix), qos=1)
            self.backoff.reset()
            self.ready.set()
            _LOGGER.info("mqtt: subscribed to %s", subscription(self.prefix))
            messages = aiter(client.messages)
            while not self.stop.is_set():
                stopping = asyncio.ensure_future(self.stop.wait())
                nxt = asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({stopping, nxt}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if nxt not in done:
                    nxt.cancel()
                    return
                await self._one(client, nxt.result())

    async def _one(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        found = route(str(message.topic), self.prefix)
        if found is None:
            _ack(client, message)
            return
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        result = await self._handle_retrying(found, payload)
        if result is None:
            return  # stopping: not acknowledged, so the broker delivers it again
        body = json.dumps(result, ensure_ascii=False)
        await client.publish(result_topic(self.prefix, found.source), body, qos=1)
        _ack(client, message)
        self.handled += 1

    async def _handle_retrying(self, found: Route, payload: bytes) -> dict[str, Any] | None:
        delays = Backoff(initial=self.retry_initial_s, cap=15.0)
        failures = 0
        while not self.stop.is_set():
            try:
                return await asyncio.to_thread(handle, found, payload, self.ingest)
            except StoreError:
                failures += 1
                if failures >= POISON_ATTEMPTS and self.database_up is not None and await self._db_answers():
                    return self._poison(found, payload)
                delay = delays.next()
                _LOGGER.warning(
                    "mqtt: database unavailable; retrying a %s payload in %.1fs", found.format, delay
                )
                await sleep_or_stop(self.stop, delay)
        return None

    async def _db_answers(self) -> bool:
        probe = self.database_up
        if probe is None:
            return False
        try:
            await asyncio.to_thread(probe)
        except StoreError:
            return False
        return True

    def _poison(self, found: Route, payload: bytes) -> dict[str, Any]:
        """A payload the database refuses while it answers: record it (log) and move on."""
        digest = hashlib.sha256(payload).hexdigest()
        self.poisoned += 1
        _LOGGER.error("mqtt: skipping a %s payload the database refuses (sha256 %s)", found.format, digest)
        return _error(found.format, digest, "not_stored", "payload could not be stored and was skipped")


def _ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 message to the broker (manual acks, see ``_session``)."""
    paho = getattr(client, "_client", None)
    if paho is not None and message.qos > 0:
        paho.ack(message.mid, message.qos)


HUB_SOURCE = re.compile(r"^hub-([1-9][0-9]{0,11})$")


class UnknownHub(BotError):
    """The topic's source is not a paired hub with a live credential."""

    code = "unknown_hub"
    status = 403


def store_ingest(engine: Engine, tz: str = DEFAULT_TZ) -> Ingest:
    """An ``Ingest`` writing through ``bot.telemetry.ingest`` in one transaction per payload, bound
    to the household of the hub named by the source."""

    def ingest(source: str, fmt: str, text: str) -> IngestReport:
        with session_scope(engine) as session:
            household_id = hub_household(session, source)
            return import_payload(session, fmt, text, tz=tz, household_id=household_id)

    return ingest


def hub_household(session: Session, source: str) -> int:
    """The household of the hub ``hub-<device id>``; UnknownHub unless it holds a live hub token."""
    found = HUB_SOURCE.match(source)
    if found is not None:
        now = utcnow()
        tokens = session.exec(
            select(ApiToken).where(
                ApiToken.device_id == int(found.group(1)),
                ApiToken.role == TokenRole.HUB,
                col(ApiToken.revoked_at).is_(None),
            )
        ).all()
        device = session.get(Device, int(found.group(1)))
        live = [t for t in tokens if t.expires_at is None or aware(t.expires_at) > now]
        if device is not None and live:
            return device.household_id
    raise UnknownHub("这个来源不是已配对的家庭网关（主题应为 <前缀>/hub-<设备号>/telemetry/<格式>）")


def run_until_signal(mqtt_url: str, db_url: str) -> int:
    """``bot telemetry mqtt``: ingest until SIGINT/SIGTERM; exit code 0."""
    if not mqtt_url:
        raise ConfigError("未配置 MQTT：请设置 mqtt_url（BOT_MQTT_URL）")
    where = broker(mqtt_url)
    engine = make_engine(db_url)

    async def main() -> None:
        ingest = MqttIngest(where, store_ingest(engine))
        ingest.database_up = functools.partial(ping, engine)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ingest.stop.set)
        await ingest.run()

    try:
        asyncio.run(main())
    finally:
        engine.dispose()
    return 0
