"""Hub telemetry over MQTT on the production profile (PostgreSQL, Redis, RabbitMQ, workers), demo
off, from an empty database: a Mosquitto of this test only, configured with the password file and ACL
``bot telemetry mqtt-auth`` writes; a paired hub publishes under its own topic with its token as its
password, and the speaker's question is answered from those readings. A hub cannot publish under
another hub's topic, and a wrong password is refused by the broker."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from bot.store.credentials import DEMO_TOKENS
from bot.store.repo import hash_token
from bot.testing.harness import RunningStack, free_port
from tests.scale_kit import pg_rows, production_stack
from tests.test_onboarding_stack import CSV_HEAD, call

pytestmark = pytest.mark.scale
PREFIX = "acme"
INGEST_USER, INGEST_PASSWORD = "ingest", "ingest-secret-for-this-test"


class Broker:
    """A Mosquitto of this test on a free port, reading the files of ``bot telemetry mqtt-auth``."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\npersistence false\nuser root\n"
            f"password_file {self.folder / 'passwd'}\nacl_file {self.folder / 'acl'}\n"
            f"log_dest file {self.folder / 'mosquitto.log'}\n",  # the test runs as root: keep its files
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            ["/usr/sbin/mosquitto", "-c", str(conf)], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(0.5)
        assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def write_auth(stack: RunningStack, folder: Path) -> None:
    done = stack.bot("telemetry", "mqtt-auth", "--out", str(folder))
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, str, Broker]]:
    var = tmp_path_factory.mktemp("onboarding-mqtt")
    auth = var / "mosquitto"
    broker = Broker(auth)
    admin: list[str] = []

    def before_start(stack: RunningStack) -> None:
        created = stack.bot("tenant", "create", "acme", "--name", "安可电器", "--assistant-name", "小安")
        assert created.returncode == 0, created.stderr
        issued = stack.bot("tenant", "token", "issue", "--tenant", "acme", "--role", "admin")
        assert issued.returncode == 0, issued.stderr
        admin.append(issued.stdout.strip())
        write_auth(stack, auth)
        broker.start()

    url = f"mqtt://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.port}/{PREFIX}"
    try:
        with production_stack(
            var,
            gateway_workers=1,
            action_workers=1,
            seed=False,
            before_start=before_start,
            BOT_DEMO="false",
            BOT_MQTT_URL=url,
        ) as (stack, _profile):
            yield stack, admin[0], broker
    finally:
        broker.stop()


async def publish_and_wait(port: int, user: str, password: str, topic: str, payload: str, result: str) -> Any:
    """Publish one payload as ``user`` and wait for the ingest's result on ``result``."""
    async with aiomqtt.Client(
        "127.0.0.1", port, username=user, password=password, identifier=f"{user}-t"
    ) as client:
        await client.subscribe(result, qos=1)
        await client.publish(topic, payload.encode(), qos=1)
        async with asyncio.timeout(60):
            async for message in client.messages:
                return json.loads(bytes(message.payload))  # type: ignore[arg-type]
    return None


async def publish_only(port: int, user: str, password: str, topic: str, payload: str) -> None:
    async with aiomqtt.Client(
        "127.0.0.1", port, username=user, password=password, identifier=f"{user}-x"
    ) as client:
        await client.publish(topic, payload.encode(), qos=1)


def test_a_paired_hub_feeds_readings_over_mqtt_and_the_speaker_is_answered_from_them(
    onboarded: tuple[RunningStack, str, Broker],
) -> None:
    stack, admin, broker = onboarded
    _, body = call(stack, "POST", "/api/v1/admin/households", {"name": "赵家"}, admin)
    home = body["household_id"]
    add = f"/api/v1/admin/households/{home}/devices"
    _, speaker = call(stack, "POST", add, {"kind": "speaker", "name": "客厅音箱"}, admin)
    _, hub = call(stack, "POST", add, {"kind": "hub", "name": "家庭网关"}, admin)
    _, aircon = call(stack, "POST", add, {"kind": "appliance", "category": "空调", "name": "客厅空调"}, admin)
    _, speaker_paired = call(stack, "POST", "/api/v1/pair", {"code": speaker["pairing"]["code"]})
    status, hub_paired = call(stack, "POST", "/api/v1/pair", {"code": hub["pairing"]["code"]})
    assert status == 201 and hub_paired["mqtt"]["username"] == f"hub-{hub['device_id']}"
    write_auth(stack, broker.folder)
    broker.reload()

    user, password = hub_paired["mqtt"]["username"], hub_paired["token"]
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    hours = max(1, min(4, int((local - first).total_seconds() // 3600) - 1))
    slots = [first + timedelta(hours=h) for h in range(hours)]
    rows = "".join(f"{aircon['device_id']},{s:%Y-%m-%d %H:%M},60,{600 + i}\n" for i, s in enumerate(slots))
    own_topic = f"{PREFIX}/{user}/telemetry"

    # under another hub's topic: the broker's ACL drops it (it never reaches the ingest)
    impostor = f"{CSV_HEAD}{aircon['device_id']},{slots[0] - timedelta(hours=1):%Y-%m-%d %H:%M},60,900\n"
    asyncio.run(
        publish_only(broker.port, user, password, f"{PREFIX}/hub-999999/telemetry/interval_wh", impostor)
    )
    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(publish_only(broker.port, user, "not-the-token", f"{own_topic}/interval_wh", impostor))

    result = asyncio.run(
        publish_and_wait(
            broker.port, user, password, f"{own_topic}/interval_wh", CSV_HEAD + rows, f"{own_topic}/result"
        )
    )
    assert result["status"] == "ok" and result["stored"] == len(slots), result
    stored = pg_rows(stack.db_url.rsplit("/", 1)[1], "SELECT count(*) FROM energyreading")[0][0]
    assert stored == len(slots)

    status, answer = stack.converse(speaker_paired["token"], "我家空调这个月用了多少度电")
    assert status == 200, answer
    expected = sum((Decimal(600 + i) / 1000 for i in range(len(slots))), Decimal(0))
    assert Decimal(answer["replies"][0]["card"]["kwh"]) == expected
    hashes = {row[0] for row in pg_rows(stack.db_url.rsplit("/", 1)[1], "SELECT token_hash FROM apitoken")}
    assert hashes and not hashes & {hash_token(t) for t in DEMO_TOKENS}
