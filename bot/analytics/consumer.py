"""Consume Rasa's event queue into ``AnalyticsEvent`` rows: at-least-once delivery + idempotent rows.

A message is acknowledged only after its rows are committed. When the database fails the message
stays unacknowledged and the write is retried with back-off; when the broker goes away aio-pika's
robust connection reconnects (and re-consumes), and RabbitMQ redelivers whatever was not
acknowledged — the ``event_key`` makes those redeliveries harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from bot.analytics.rows import BadEventError, EventRow, rows_for
from bot.errors import StoreError
from bot.retry import Backoff, sleep_or_stop

_LOGGER = logging.getLogger(__name__)

Recorder = Callable[[Sequence[EventRow]], int]
"""Stores rows, returns how many were new; raises ``StoreError`` when the database fails."""


def exchange_for(queue: str) -> str:
    """Fanout exchange Rasa publishes through (``bot.rasa.endpoints.event_broker`` names it so)."""
    return f"{queue}.exchange"


class Message(Protocol):
    """The part of an AMQP message the consumer uses (aio-pika's incoming message has it)."""

    body: bytes

    async def ack(self) -> None: ...

    async def reject(self, requeue: bool = False) -> None: ...


@dataclass
class Stats:
    """What the consumer did so far."""

    messages: int = 0
    rows: int = 0
    """New rows committed (redeliveries add none)."""
    bad: int = 0
    """Messages rejected because they are not Rasa events."""
    store_retries: int = 0


class EventHandler:
    """Turns one broker message into committed rows, then acknowledges it (the pure-ish core)."""

    def __init__(
        self, recorder: Recorder, *, stop: asyncio.Event | None = None, backoff: Backoff | None = None
    ):
        self.recorder = recorder
        self.stop = stop or asyncio.Event()
        self.backoff = backoff or Backoff()
        self.stats = Stats()

    async def __call__(self, message: Message) -> None:
        """Handle one message: ack after commit, reject if malformed, requeue if stopped mid-retry."""
        self.stats.messages += 1
        try:
            rows = rows_for(message.body)
        except BadEventError as err:
            self.stats.bad += 1
            _LOGGER.warning("analytics: rejecting a message that is not a Rasa event (%s)", err.code)
            await message.reject(requeue=False)
            return
        if await self._store(rows):
            await message.ack()
        else:
            await message.reject(requeue=True)

    async def _store(self, rows: Sequence[EventRow]) -> bool:
        delays = Backoff(self.backoff.initial, self.backoff.cap)  # one per message: they retry concurrently
        while not self.stop.is_set():
            try:
                self.stats.rows += await asyncio.to_thread(self.recorder, rows)
            except StoreError:
                self.stats.store_retries += 1
                delay = delays.next()
                _LOGGER.warning("analytics: database down, retry in %.1fs (message not acked)", delay)
                await sleep_or_stop(self.stop, delay)
                continue
            return True
        return False


async def connect(
    url: str, stop: asyncio.Event, backoff: Backoff | None = None
) -> AbstractRobustConnection | None:
    """A robust connection, retried with back-off until it succeeds; None when stopped first."""
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            return await aio_pika.connect_robust(url, reconnect_interval=1.0, timeout=10)
        except (*aio_pika.exceptions.CONNECTION_EXCEPTIONS, TimeoutError) as err:
            delay = backoff.next()
            _LOGGER.warning("analytics: broker unreachable (%s), retry in %.1fs", type(err).__name__, delay)
            await sleep_or_stop(stop, delay)
    return None


async def declare(connection: AbstractRobustConnection, queue: str, prefetch: int) -> AbstractQueue:
    """Declare the queue, exchange and binding exactly as Rasa's pika broker does (idempotent)."""
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    exchange = await channel.declare_exchange(exchange_for(queue), aio_pika.ExchangeType.FANOUT)
    declared = await channel.declare_queue(queue, durable=True)
    await declared.bind(exchange, "")
    return declared


async def consume(
    url: str, queue: str, handler: EventHandler, *, prefetch: int = 32, ready: asyncio.Event | None = None
) -> None:
    """Consume ``queue`` until ``handler.stop`` is set, surviving broker and database outages."""
    backoff = Backoff(handler.backoff.initial, handler.backoff.cap)
    while not handler.stop.is_set():
        connection = await connect(url, handler.stop, backoff)
        if connection is None:
            return
        try:
            declared = await declare(connection, queue, prefetch)
            await declared.consume(_adapt(handler))
            _LOGGER.info("analytics: consuming queue %s", queue)
            backoff.reset()
            if ready is not None:
                ready.set()
            await handler.stop.wait()
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as err:
            # Lost between connecting and consuming: the robust connection cannot restore that.
            _LOGGER.warning("analytics: broker lost while setting up (%s), starting over", type(err).__name__)
            await sleep_or_stop(handler.stop, backoff.next())
        finally:
            await connection.close()


async def drain(url: str, queue: str, handler: EventHandler) -> None:
    """Handle every message waiting in ``queue``, then return (``bot analytics consume --once``)."""
    connection = await connect(url, handler.stop)
    if connection is None:
        return
    try:
        declared = await declare(connection, queue, prefetch=1)
        while not handler.stop.is_set():
            message = await declared.get(no_ack=False, fail=False, timeout=10)
            if message is None:
                return
            await handler(message)
    finally:
        await connection.close()


def _adapt(handler: EventHandler) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
    async def on_message(message: AbstractIncomingMessage) -> None:
        try:
            await handler(message)
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as err:
            # The channel died before the ack went out: RabbitMQ redelivers, the key dedupes.
            _LOGGER.warning("analytics: ack failed (%s); RabbitMQ redelivers", type(err).__name__)

    return on_message
