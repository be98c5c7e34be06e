"""The analytics consumer against real RabbitMQ and PostgreSQL: delivery, redelivery, outages.

Messages are published exactly as Rasa 3.6's ``PikaEventBroker`` does: JSON body, persistent,
through the fanout exchange ``<queue>.exchange`` bound to the durable queue (``bot.rasa.endpoints``).
Outages are made with a TCP proxy in front of the real service; the services themselves are
never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import aio_pika
import pytest
from sqlalchemy.engine import Engine

from bot.analytics.consumer import EventHandler, consume, declare, drain, exchange_for
from bot.analytics.purge import PurgeError, purge_queued
from bot.analytics.rows import rows_for
from bot.analytics.store import record
from bot.retry import Backoff
from bot.store.db import make_engine, migrate
from tests.scale_kit import (
    AMQP_URL,
    PG_HOST,
    PG_PORT,
    fresh_database,
    pg_rows,
    pg_url,
    require_services,
    unique_name,
)
from tests.tcp_proxy import TcpProxy
from tests.test_analytics import QUOTE_CARD, USER_TEXT, bot_event, user_event

pytestmark = pytest.mark.scale
WAIT_S = 30.0


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database at the latest schema; dropped afterwards."""
    with fresh_database("bot_flow") as name:
        migrate(pg_url(name))
        yield name


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue name of this test only; the queue and its exchange are deleted afterwards."""
    require_services("rabbitmq")
    name = unique_name("flow_events")
    yield name
    asyncio.run(_delete(name))


async def _delete(name: str) -> None:
    conn = await aio_pika.connect(AMQP_URL, timeout=5)
    async with conn:
        channel = await conn.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(exchange_for(name))


async def publish_like_rasa(queue: str, *events: dict[str, Any]) -> None:
    """Publish as ``PikaEventBroker._publish`` would (declaring what it declares)."""
    conn = await aio_pika.connect(AMQP_URL, timeout=5)
    async with conn:
        channel = await conn.channel()
        exchange = await channel.declare_exchange(exchange_for(queue), aio_pika.ExchangeType.FANOUT)
        declared = await channel.declare_queue(queue, durable=True)
        await declared.bind(exchange, "")
        for event in events:
            message = aio_pika.Message(
                json.dumps(event).encode("utf-8"),
                headers=None,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await exchange.publish(message, "")


def count(database: str, where: str = "true") -> int:
    return int(pg_rows(database, f"SELECT count(*) FROM analyticsevent WHERE {where}")[0][0])  # type: ignore[arg-type]


async def wait_for_rows(database: str, expected: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while (n := await asyncio.to_thread(count, database)) < expected:
        if time.monotonic() > deadline:
            pytest.fail(f"only {n} of {expected} analytics rows arrived")
        await asyncio.sleep(0.1)
    assert n == expected


def conversation(name: str, ts: float) -> list[dict[str, Any]]:
    """One turn as Rasa streams it: user message, action, bot offer card."""
    return [
        user_event(name, ts),
        {"sender_id": name, "event": "action", "timestamp": ts + 0.1, "name": "action_installment_quote"},
        bot_event(name, ts + 0.2, QUOTE_CARD, "utter_installment_quote"),
    ]


class Consumer:
    """``consume`` running in a task, stopped at exit."""

    def __init__(self, url: str, queue: str, engine: Engine) -> None:
        self.handler = EventHandler(partial(record, engine), backoff=Backoff(0.05, 0.5))
        self.url, self.queue = url, queue
        self.ready = asyncio.Event()

    async def __aenter__(self) -> Consumer:
        self.task = asyncio.create_task(consume(self.url, self.queue, self.handler, ready=self.ready))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.handler.stop.set()
        await asyncio.wait_for(self.task, 15)


async def test_events_published_like_rasa_become_rows_and_duplicates_do_not(
    database: str, queue: str
) -> None:
    engine = make_engine(pg_url(database))
    try:
        async with Consumer(AMQP_URL, queue, engine) as consumer:
            await asyncio.wait_for(consumer.ready.wait(), WAIT_S)
            await publish_like_rasa(queue, *conversation("conv-a", 1764170000.0))
            await wait_for_rows(database, 3)
            # Rasa re-sends its buffer after a reconnect: the same events again, then a new one.
            await publish_like_rasa(
                queue, *conversation("conv-a", 1764170000.0), user_event("conv-b", 1764170009.0)
            )
            await wait_for_rows(database, 4)
    finally:
        engine.dispose()
    assert count(database, "kind = 'offer' AND card_type = 'installment_quote' AND offer_id = '17'") == 1
    assert count(database, "intent = 'ask_installment'") == 2
    texts = pg_rows(
        database,
        "SELECT count(*) FROM analyticsevent WHERE concat_ws(' ', intent, action) LIKE %s",
        f"%{USER_TEXT}%",
    )
    assert texts[0][0] == 0


async def test_a_message_redelivered_after_a_crash_before_ack_is_stored_once(
    database: str, queue: str
) -> None:
    await publish_like_rasa(queue, *conversation("conv-c", 1764170100.0))
    engine = make_engine(pg_url(database))
    try:
        # A consumer that commits the first message and dies before acknowledging it.
        conn = await aio_pika.connect(AMQP_URL, timeout=5)
        declared = await declare(conn, queue, prefetch=1)  # type: ignore[arg-type]
        first = await declared.get(no_ack=False, timeout=10)
        assert first is not None
        record(engine, rows_for(first.body))
        await conn.close()  # unacknowledged: RabbitMQ requeues it
        handler = EventHandler(partial(record, engine))
        await drain(AMQP_URL, queue, handler)
    finally:
        engine.dispose()
    assert handler.stats.messages == 3
    assert count(database) == 3


async def test_the_consumer_waits_for_the_broker_and_catches_up_after_a_cut(
    database: str, queue: str
) -> None:
    await publish_like_rasa(queue)  # the queue exists, as it does once Rasa has started
    engine = make_engine(pg_url(database))
    try:
        async with TcpProxy("127.0.0.1", 5672) as proxy:
            await proxy.cut()  # broker unreachable when the consumer starts
            url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
            async with Consumer(url, queue, engine) as consumer:
                await publish_like_rasa(queue, user_event("conv-d", 1764170200.0))
                await asyncio.sleep(1.0)
                assert not consumer.ready.is_set()
                await proxy.restore()
                await wait_for_rows(database, 1)
                await proxy.cut()  # mid-run: connection dropped
                await publish_like_rasa(queue, *[user_event("conv-d", 1764170201.0 + i) for i in range(5)])
                await asyncio.sleep(1.5)
                assert count(database) == 1
                await proxy.restore()
                await wait_for_rows(database, 6)
    finally:
        engine.dispose()


async def test_a_database_outage_holds_messages_unacknowledged_until_it_is_back(
    database: str, queue: str
) -> None:
    await publish_like_rasa(queue)
    async with TcpProxy(PG_HOST, PG_PORT) as db_proxy:
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{db_proxy.port}/{database}")
        try:
            async with Consumer(AMQP_URL, queue, engine) as consumer:
                await asyncio.wait_for(consumer.ready.wait(), WAIT_S)
                await db_proxy.cut()
                await publish_like_rasa(queue, *conversation("conv-e", 1764170300.0))
                deadline = time.monotonic() + WAIT_S
                while consumer.handler.stats.store_retries == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert consumer.handler.stats.store_retries > 0
                assert count(database) == 0
                await db_proxy.restore()
                await wait_for_rows(database, 3)
        finally:
            engine.dispose()


def test_cli_consume_once_then_report(database: str, queue: str) -> None:
    warranty = bot_event("conv-f", 1764170401.0, {"type": "warranty_offer", "offer_id": 5})
    events = [*conversation("conv-f", 1764170400.0), warranty]
    asyncio.run(publish_like_rasa(queue, *events))
    env = os.environ | {
        "BOT_DATABASE_URL": pg_url(database),
        "BOT_EVENT_BROKER_URL": AMQP_URL,
        "BOT_EVENT_QUEUE": queue,
    }
    bot = [sys.executable, "-m", "bot"]
    once = subprocess.run(
        [*bot, "analytics", "consume", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert once.returncode == 0, once.stderr
    assert "4 messages, 5 new rows" in once.stdout
    rep = subprocess.run(
        [*bot, "analytics", "report", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rep.returncode == 0, rep.stderr
    report = json.loads(rep.stdout)
    assert {(o["card_type"], o["offers"]) for o in report["offers"]} == {
        ("installment_quote", 1),
        ("warranty_offer", 1),
    }
    assert report["intents"] == [{"intent": "ask_installment", "turns": 1, "mean_confidence": 0.9731}]


async def test_an_erasure_drops_the_erased_conversations_queued_events_and_keeps_the_others(
    database: str, queue: str
) -> None:
    """Events still queued when a household is erased are dropped at once (not left to the TTL);
    every other message stays queued and the consumer takes it as usual."""
    await publish_like_rasa(queue, *conversation("conv-erased", 1764170300.0))
    await publish_like_rasa(queue, *conversation("conv-kept", 1764170301.0))
    await publish_like_rasa(queue, user_event("conv-erased", 1764170302.0))
    assert await purge_queued(AMQP_URL, queue, ["conv-erased", "conv-not-there"]) == 4
    assert await purge_queued(AMQP_URL, queue, ["conv-erased"]) == 0, "nothing of it is left"
    engine = make_engine(pg_url(database))
    try:
        await drain(AMQP_URL, queue, EventHandler(partial(record, engine)))
    finally:
        engine.dispose()
    assert count(database, "conversation_id = 'conv-erased'") == 0
    assert count(database, "conversation_id = 'conv-kept'") == 3
    assert await purge_queued(AMQP_URL, unique_name("no_such_queue"), ["conv-kept"]) == 0
    with pytest.raises(PurgeError):
        await purge_queued("amqp://guest:guest@127.0.0.1:1/%2F", queue, ["conv-kept"])


async def test_delete_my_data_drops_the_households_events_still_queued_in_the_broker(
    aiohttp_client: Any, demo_db: Engine, queue: str
) -> None:
    from sqlmodel import Session, select

    from bot.config import Config
    from bot.gateway.app import create_app
    from bot.store.models import Conversation
    from tests.fakes import FakeDialogue
    from tests.gateway_kit import LI, ZHANG_PANEL, no_speech
    from tests.test_gateway_rights import household_of

    config = Config(actions_port=1, event_broker_url=AMQP_URL, event_queue=queue)
    app = create_app(config, engine=demo_db, dialogue=FakeDialogue(), speech=no_speech())
    client = await aiohttp_client(app)
    for headers in (ZHANG_PANEL, LI):
        assert (await client.post("/api/v1/converse", json={"text": "你好"}, headers=headers)).status == 200
    with Session(demo_db) as session:
        conversations = {c.household_id: str(c.id) for c in session.exec(select(Conversation)).all()}
    assert len(conversations) == 2
    for sender in conversations.values():  # what Rasa would have published for each turn
        await publish_like_rasa(queue, *conversation(sender, 1764170400.0))
    resp = await client.delete("/api/v1/me/data", headers=ZHANG_PANEL)
    assert resp.status == 200
    remaining = []
    connection = await aio_pika.connect(AMQP_URL, timeout=5)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        while (message := await declared.get(no_ack=True, fail=False, timeout=5)) is not None:
            remaining.append(json.loads(message.body)["sender_id"])
    erased = conversations.pop(household_of(demo_db, ZHANG_PANEL))
    (kept,) = conversations.values()
    assert remaining == [kept] * 3 and erased not in remaining
    assert (await client.post("/api/v1/converse", json={"text": "你好"}, headers=LI)).status == 200
