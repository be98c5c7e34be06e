"""End to end in the production profile: real turns through the gateway become analytics rows, and a
vendor payload over MQTT becomes readings — both consumers running as supervised children of ``bot up``."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiomqtt
import pytest

from bot.testing.harness import RunningStack
from tests.scale_kit import ProductionProfile, pg_rows, production_stack, require_services, unique_name

pytestmark = pytest.mark.scale
ZHANG = "demo-zhang-speaker"
WAIT_S = 60.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, ProductionProfile, str]]:
    require_services("mosquitto")
    prefix, client_id = f"flowtest/{unique_name('stack')}", unique_name("flow-ingest")
    mqtt_url = f"mqtt://127.0.0.1:1883/{prefix}?client_id={client_id}"
    with production_stack(
        tmp_path_factory.mktemp("flow"), gateway_workers=1, action_workers=1, BOT_MQTT_URL=mqtt_url
    ) as (running, profile):
        yield running, profile, prefix
    asyncio.run(_forget_session(client_id))


async def _forget_session(client_id: str) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=client_id, clean_session=True):
        pass


def _wait_rows(db: str, query: str, *params: object) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + WAIT_S
    while not (rows := pg_rows(db, query, *params)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return rows


def test_a_real_turn_ends_up_as_analytics_rows_without_its_text(
    stack: tuple[RunningStack, ProductionProfile, str],
) -> None:
    running, profile, _ = stack
    text = "我家空调这个月用了多少度电"
    status, body = running.converse(ZHANG, text)
    assert status == 200, body
    cards = [r["card"] for r in body["replies"] if r.get("card")]
    user = _wait_rows(profile.app_db, "SELECT intent, confidence FROM analyticsevent WHERE event = 'user'")
    assert [row[0] for row in user] == ["ask_energy_usage"], user
    bots = _wait_rows(
        profile.app_db, "SELECT card_type FROM analyticsevent WHERE event = 'bot' AND kind = 'turn'"
    )
    assert {c["type"] for c in cards} <= {row[0] for row in bots}
    offers = {c["offer_id"] for c in cards if c.get("offer_id")}
    stored = {
        row[0] for row in pg_rows(profile.app_db, "SELECT offer_id FROM analyticsevent WHERE kind = 'offer'")
    }
    assert {str(o) for o in offers} == stored
    everything = json.dumps(
        pg_rows(profile.app_db, "SELECT * FROM analyticsevent"), default=str, ensure_ascii=False
    )
    assert text not in everything and "空调" not in everything


def _post(stack: RunningStack, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    req = urllib.request.Request(f"{stack.url}{path}", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def paired_hub(stack: RunningStack, household_id: int) -> int:
    """A hub added to the household by its admin and paired: its id names its MQTT source."""
    added = _post(
        stack,
        f"/api/v1/admin/households/{household_id}/devices",
        {"kind": "hub", "name": "网关"},
        "demo-admin",
    )
    _post(stack, "/api/v1/pair", {"code": added["pairing"]["code"]})
    return int(added["device_id"])


def test_a_payload_over_mqtt_becomes_readings(stack: tuple[RunningStack, ProductionProfile, str]) -> None:
    running, profile, prefix = stack
    device, household = pg_rows(profile.app_db, "SELECT id, household_id FROM device ORDER BY id LIMIT 1")[0]
    hub = paired_hub(running, household)
    payload = f"device_id,interval_start,minutes,energy_wh\n{device},2020-01-01 08:00,60,1234\n".encode()
    result = asyncio.run(_send(prefix, payload, f"hub-{hub}"))
    assert result["status"] == "ok" and result["stored"] == 1, result
    rows = pg_rows(
        profile.app_db,
        "SELECT kwh FROM energyreading WHERE device_id = %s AND seconds = 3600 AND kwh = 1.234",
        device,
    )
    assert len(rows) == 1


async def _send(prefix: str, payload: bytes, source: str) -> dict[str, object]:
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=unique_name("flow-hub")) as hub:
        await hub.subscribe(f"{prefix}/{source}/telemetry/result", qos=1)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            # The ingest may still be subscribing: re-send until a result comes (re-sends are harmless).
            await hub.publish(f"{prefix}/{source}/telemetry/interval_wh", payload, qos=1)
            try:
                async with asyncio.timeout(2):
                    async for message in hub.messages:
                        return dict(json.loads(bytes(message.payload)))  # type: ignore[arg-type]
            except TimeoutError:
                continue
    raise AssertionError("no result from the MQTT ingest")


def test_logs_of_the_consumers_are_there(stack: tuple[RunningStack, ProductionProfile, str]) -> None:
    running, _, _ = stack
    log_dir = running.var_dir / "log"
    assert (log_dir / "analytics.log").exists() and (log_dir / "mqtt.log").exists()


def test_an_offer_made_in_a_real_turn_is_an_offer_row(
    stack: tuple[RunningStack, ProductionProfile, str],
) -> None:
    running, profile, _ = stack
    status, body = running.converse(ZHANG, "扫地机器人能买延保吗")
    assert status == 200, body
    offered = {
        (r["card"]["type"], str(r["card"]["offer_id"]))
        for r in body["replies"]
        if (r.get("card") or {}).get("offer_id")
    }
    assert offered, f"the demo household is offered a warranty: {body}"
    query = "SELECT card_type, offer_id FROM analyticsevent WHERE kind = 'offer' AND offer_id = %s"
    rows = _wait_rows(profile.app_db, query, next(iter(offered))[1])
    assert {(str(a), str(b)) for a, b in rows} == offered
