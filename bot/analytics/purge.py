"""Drop the events of erased conversations that still wait in Rasa's event queue.

Rasa publishes every tracker event (the user's words included) to the broker; the analytics consumer
normally takes them within moments, and the queue's TTL policy (``deploy/least_privilege.sh``) drops
what no one takes. An erasure does not wait for either: every message waiting in the queue is read
once, those of the erased conversations are acknowledged (gone), every other one is handed back
unacknowledged after the pass, so RabbitMQ redelivers it to the consumer (whose ``event_key`` makes
a redelivery harmless). A message the consumer holds at that moment is not in the queue; its rows
carry no text and the erasure's own transaction deletes them when it commits after.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiormq.exceptions import ChannelNotFoundEntity

from bot.analytics.rows import BadEventError, decode
from bot.errors import BotError

_LOGGER = logging.getLogger(__name__)
GET_TIMEOUT_S = 10.0


class PurgeError(BotError):
    """The broker could not be reached or refused the pass."""

    code = "broker_unavailable"
    status = 503


def sender_of(body: bytes) -> str | None:
    """The conversation a broker message belongs to (None: not a Rasa event)."""
    try:
        sender = decode(body).get("sender_id")
    except BadEventError:
        return None
    return sender if isinstance(sender, str) else None


async def purge_queued(url: str, queue: str, conversations: Collection[str]) -> int:
    """Acknowledge (drop) the waiting messages of ``conversations``; return how many were dropped."""
    if not conversations:
        return 0
    try:
        connection = await aio_pika.connect(url, timeout=GET_TIMEOUT_S)
    except (*aio_pika.exceptions.CONNECTION_EXCEPTIONS, TimeoutError) as err:
        raise PurgeError(f"事件队列暂时无法连接（{type(err).__name__}）") from err
    async with connection:
        try:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            waiting = declared.declaration_result.message_count or 0
            return await _pass(declared, waiting, set(conversations))
        except ChannelNotFoundEntity:
            return 0  # no queue: nothing waits
        except (aio_pika.exceptions.AMQPError, *aio_pika.exceptions.CONNECTION_EXCEPTIONS) as err:
            raise PurgeError(f"事件队列拒绝了清理（{type(err).__name__}）") from err


async def _pass(declared: aio_pika.abc.AbstractQueue, waiting: int, erased: set[str]) -> int:
    dropped = 0
    kept: list[AbstractIncomingMessage] = []
    try:
        for _ in range(waiting):
            message = await declared.get(no_ack=False, fail=False, timeout=GET_TIMEOUT_S)
            if message is None:
                break
            if sender_of(message.body) in erased:
                await message.ack()
                dropped += 1
            else:
                kept.append(message)
    finally:
        for message in kept:  # back to the queue only after the pass: none is read twice
            await message.nack(requeue=True)
    if dropped:
        _LOGGER.info("erasure: %d queued events dropped from the broker", dropped)
    return dropped
