"""MQTT telemetry ingest against real Mosquitto and PostgreSQL: results, re-sends, broker cut, CLI.

Each test uses its own topic prefix (and so its own client id / persistent session, removed at the
end); outages are made with a TCP proxy in front of Mosquitto, never by touching the service.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiomqtt
import pytest

from bot.retry import Backoff
from bot.store.db import make_engine, migrate
from bot.telemetry.mqtt import MqttIngest, broker, store_ingest
from tests.scale_kit import fresh_database, pg_rows, pg_url, require_services, unique_name
from tests.tcp_proxy import TcpProxy
from tests.test_mqtt_ingest import interval_csv, seed_home

pytestmark = pytest.mark.scale
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
WAIT_S = 30.0


@pytest.fixture
def database() -> Iterator[tuple[str, int]]:
    """A fresh PostgreSQL database at the latest schema with one device; yields (name, device id)."""
    with fresh_database("bot_flow_mqtt") as name:
        migrate(pg_url(name))
        engine = make_engine(pg_url(name))
        device = seed_home(engine)
        engine.dispose()
        yield name, device


@pytest.fixture
def prefix() -> Iterator[str]:
    """A topic prefix of this test only; its persistent ingest session is cleared afterwards."""
    require_services("mosquitto")
    name = f"flowtest/{unique_name('t')}"
    yield name
    asyncio.run(_clear_session(broker(f"mqtt://{MQTT_HOST}:{MQTT_PORT}/{name}").client_id))


async def _clear_session(client_id: str) -> None:
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, identifier=client_id, clean_session=True):
        pass


def readings(database: str) -> int:
    return int(pg_rows(database, "SELECT count(*) FROM energyreading")[0][0])  # type: ignore[arg-type]


class Device:
    """A vendor hub: publishes payloads and collects the results sent back to it."""

    def __init__(self, prefix: str, source: str = "hub-2") -> None:  # seed_home: device 1, its hub 2
        self.prefix, self.source = prefix, source
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> Device:
        self.client = aiomqtt.Client(MQTT_HOST, MQTT_PORT, identifier=unique_name("flow-hub"))
        await self.client.__aenter__()
        await self.client.subscribe(f"{self.prefix}/{self.source}/telemetry/result", qos=1)
        self.task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.__aexit__(None, None, None)

    async def _collect(self) -> None:
        async for message in self.client.messages:
            self.results.put_nowait(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

    async def send(self, fmt: str, payload: bytes) -> None:
        await self.client.publish(f"{self.prefix}/{self.source}/telemetry/{fmt}", payload, qos=1)

    async def result(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.results.get(), WAIT_S)


class Ingest:
    """``MqttIngest`` running in a task, stopped at exit."""

    def __init__(self, url: str, database: str) -> None:
        self.engine = make_engine(pg_url(database))
        self.ingest = MqttIngest(broker(url), store_ingest(self.engine))
        self.ingest.backoff = Backoff(0.1, 1.0)

    async def __aenter__(self) -> MqttIngest:
        self.task = asyncio.create_task(self.ingest.run())
        await asyncio.wait_for(self.ingest.ready.wait(), WAIT_S)
        return self.ingest

    async def __aexit__(self, *exc: Any) -> None:
        self.ingest.stop.set()
        await asyncio.wait_for(self.task, 15)
        self.engine.dispose()


async def test_payloads_are_stored_once_and_every_message_gets_a_result(
    database: tuple[str, int], prefix: str
) -> None:
    name, device = database
    payload = interval_csv(device, "2025-03-01 08:00,60,1500", "2025-03-01 09:00,60,1200")
    async with Ingest(f"mqtt://{MQTT_HOST}:{MQTT_PORT}/{prefix}", name), Device(prefix) as hub:
        await hub.send("interval_wh", payload)
        first = await hub.result()
        await hub.send("interval_wh", payload)  # re-sent: never counted twice
        again = await hub.result()
        await hub.send("interval_wh", b"device_id,oops\n1,2\n")
        broken = await hub.result()
        await hub.send("vendor_x", b"{}")
        unknown = await hub.result()
    assert (first["status"], first["stored"], first["skipped"]) == ("ok", 2, 0)
    assert (again["status"], again["stored"], again["skipped"]) == ("ok", 0, 2)
    assert broken["status"] == "error" and broken["error"]["code"] == "bad_telemetry_file"
    assert unknown["error"]["code"] == "unknown_format"
    assert readings(name) == 2


async def test_payloads_sent_while_the_ingest_is_cut_off_arrive_after_it_reconnects(
    database: tuple[str, int], prefix: str
) -> None:
    name, device = database
    async with TcpProxy(MQTT_HOST, MQTT_PORT) as proxy, Device(prefix) as hub:
        ingest = Ingest(f"mqtt://127.0.0.1:{proxy.port}/{prefix}", name)
        async with ingest:
            await hub.send("interval_wh", interval_csv(device, "2025-03-02 08:00,60,100"))
            first = await hub.result()
            assert first["stored"] == 1
            await proxy.cut()
            for hour in range(10, 13):
                await hub.send("interval_wh", interval_csv(device, f"2025-03-02 {hour}:00,60,100"))
            await asyncio.sleep(1.0)
            assert readings(name) == 1 and hub.results.empty()
            await proxy.restore()
            # A result whose PUBACK the cut swallowed may come twice (QoS 1): match by payload hash.
            late: dict[str, dict[str, Any]] = {}
            while len(late) < 3:
                result = await hub.result()
                if result["payload_sha256"] != first["payload_sha256"]:
                    late[result["payload_sha256"]] = result
    assert [r["stored"] for r in late.values()] == [1, 1, 1]
    assert readings(name) == 4


async def test_cli_ingests_until_sigterm(database: tuple[str, int], prefix: str) -> None:
    name, device = database
    env = os.environ | {
        "BOT_DATABASE_URL": pg_url(name),
        "BOT_MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}/{prefix}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "telemetry", "mqtt", env=env, stderr=subprocess.PIPE
    )
    try:
        async with Device(prefix) as hub:
            # The subscription may not exist yet: re-send until a result comes (re-sends are harmless).
            result = None
            for _ in range(int(WAIT_S)):
                await hub.send("interval_wh", interval_csv(device, "2025-03-03 08:00,60,250"))
                try:
                    result = await asyncio.wait_for(hub.results.get(), 1.0)
                    break
                except TimeoutError:
                    continue
        assert result is not None and result["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
    assert readings(name) == 1
