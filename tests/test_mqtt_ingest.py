"""MQTT telemetry ingest without a broker: topic routing, results for good and bad payloads, retries."""

from __future__ import annotations

import json
import socket
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.errors import ConfigError, StoreError
from bot.store.db import utcnow
from bot.store.models import ApiToken, Device, DeviceCategory, Household, Tenant, TokenRole
from bot.store.repo import issue_token
from bot.telemetry.ingest import IngestReport
from bot.telemetry.mqtt import Broker, MqttIngest, Route, broker, handle, result_topic, route, store_ingest
from bot.telemetry.records import Rejected, TelemetryFormatError

CSV_HEAD = "device_id,interval_start,minutes,energy_wh\n"


def seed_home(engine: Engine) -> int:
    """One tenant, household and device; returns the device id."""
    with Session(engine) as session:
        session.add(
            Tenant(
                id="acme", name="Acme", brand="Acme", assistant_name="小A", tariff_yuan_per_kwh=Decimal("0.5")
            )
        )
        session.flush()
        home = Household(tenant_id="acme", name="张家")
        session.add(home)
        session.flush()
        device = Device(
            household_id=home.id or 0,
            category="空调",
            name="客厅空调",
            brand="格力",
            model="KFR-35",
            room="客厅",
            purchased_on=date(2015, 5, 1),
            warranty_until=date(2021, 5, 1),
        )
        session.add(device)
        hub = Device(
            household_id=home.id or 0,
            category=DeviceCategory.HUB.value,
            name="家庭网关",
            brand="Acme",
            model="H1",
            room="客厅",
            purchased_on=date(2024, 5, 1),
            warranty_until=date(2025, 5, 1),
        )
        session.add(hub)
        session.flush()
        issue_token(session, f"hub-token-{hub.id}", TokenRole.HUB, "acme", hub.id, "hub", utcnow())
        session.commit()
        return device.id or 0


def hub_source(engine: Engine) -> str:
    """The MQTT source of the paired hub ``seed_home`` made (``hub-<device id>``)."""
    with Session(engine) as session:
        hub = session.exec(select(Device).where(Device.category == DeviceCategory.HUB.value)).first()
        assert hub is not None
        return f"hub-{hub.id}"


def interval_csv(device: int, *rows: str) -> bytes:
    """An ``interval_wh`` payload for ``device`` with rows ``start,minutes,wh``."""
    return (CSV_HEAD + "".join(f"{device},{row}\n" for row in rows)).encode()


@pytest.mark.parametrize(
    ("topic", "prefix", "expected"),
    [
        ("bot/hub-7/telemetry/interval_wh", "bot", Route("hub-7", "interval_wh")),
        ("acme/prod/hub_1/telemetry/meter_kwh", "acme/prod", Route("hub_1", "meter_kwh")),
        ("bot/hub-7/telemetry/nonsense", "bot", Route("hub-7", "nonsense")),
        ("bot/hub-7/telemetry/result", "bot", None),
        ("other/hub-7/telemetry/power_w", "bot", None),
        ("bot/hub-7/status/power_w", "bot", None),
        ("bot/hub 7/telemetry/power_w", "bot", None),
        ("bot/a/b/telemetry/power_w", "bot", None),
    ],
)
def test_topics_route_to_a_source_and_format_and_results_are_not_input(
    topic: str, prefix: str, expected: Route | None
) -> None:
    assert route(topic, prefix) == expected


def test_the_result_goes_back_to_the_source() -> None:
    assert result_topic("acme/prod", "hub_1") == "acme/prod/hub_1/telemetry/result"


def test_mqtt_url_gives_host_prefix_and_a_client_id_per_prefix() -> None:
    host = socket.gethostname()
    assert broker("mqtt://127.0.0.1:1883") == Broker("127.0.0.1", 1883, "bot", f"bot-ingest-bot-{host}")
    found = broker("mqtt://u:p@mq.local/acme/prod?client_id=ingest-a")
    assert (found.host, found.port, found.prefix, found.client_id) == (
        "mq.local",
        1883,
        "acme/prod",
        "ingest-a",
    )
    assert (found.username, found.password) == ("u", "p")
    assert broker("mqtt://h/acme/prod").client_id == f"bot-ingest-acme-prod-{socket.gethostname()}", (
        "one per machine"
    )


@pytest.mark.parametrize("url", ["http://h:1883", "mqtt://", "mqtt://h/bot/+/x"])
def test_a_bad_mqtt_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        broker(url)


def _report(stored: int = 1, skipped: int = 0, rejected: tuple[Rejected, ...] = ()) -> IngestReport:
    return IngestReport("interval_wh", stored, skipped, rejected)


def test_a_stored_payload_reports_counts_and_rejected_records_with_reasons() -> None:
    seen: list[tuple[str, str]] = []

    def ingest(source: str, fmt: str, text: str) -> IngestReport:
        seen.append((fmt, text))
        return _report(2, 1, (Rejected(3, "line 4", "unknown device 99"),))

    result = handle(Route("hub", "interval_wh"), b"payload", ingest)
    assert seen == [("interval_wh", "payload")]
    assert result["status"] == "ok" and (result["stored"], result["skipped"]) == (2, 1)
    assert result["rejected"] == [{"index": 3, "where": "line 4", "reason": "unknown device 99"}]
    assert result["error"] is None and len(result["payload_sha256"]) == 64


def _never(source: str, fmt: str, text: str) -> IngestReport:
    raise AssertionError("must not be ingested")


@pytest.mark.parametrize(
    ("fmt", "payload", "code"),
    [
        ("nonsense", b"x", "unknown_format"),
        ("interval_wh", b"\xff\xfe\x00", "bad_telemetry_file"),
        ("interval_wh", b"x" * 1_000_001, "too_large"),
    ],
)
def test_unusable_payloads_get_an_error_result_without_ingesting(fmt: str, payload: bytes, code: str) -> None:
    result = handle(Route("hub", fmt), payload, _never)
    assert result["status"] == "error" and result["error"]["code"] == code
    assert result["stored"] == 0


def test_an_unreadable_file_gets_the_adapters_reason() -> None:
    def ingest(source: str, fmt: str, text: str) -> IngestReport:
        raise TelemetryFormatError("missing columns: energy_wh")

    result = handle(Route("hub", "interval_wh"), b"a,b\n", ingest)
    assert result["error"] == {"code": "bad_telemetry_file", "message": "missing columns: energy_wh"}


def test_an_unexpected_failure_is_an_error_result_not_a_crash() -> None:
    def ingest(source: str, fmt: str, text: str) -> IngestReport:
        raise KeyError("boom")

    assert handle(Route("hub", "interval_wh"), b"x", ingest)["error"]["code"] == "internal_error"


def test_a_database_failure_is_raised_for_the_caller_to_retry() -> None:
    def ingest(source: str, fmt: str, text: str) -> IngestReport:
        raise StoreError("数据库暂时不可用")

    with pytest.raises(StoreError):
        handle(Route("hub", "interval_wh"), b"x", ingest)


def test_real_ingest_stores_then_skips_a_resent_payload_and_rejects_unknown_devices(
    schema_db: Engine,
) -> None:
    device = seed_home(schema_db)
    payload = interval_csv(device, "2025-03-01 08:00,60,1500", "2025-03-01 09:00,60,1200")
    ingest, hub = store_ingest(schema_db), hub_source(schema_db)
    first = handle(Route(hub, "interval_wh"), payload, ingest)
    again = handle(Route(hub, "interval_wh"), payload, ingest)
    assert (first["stored"], first["skipped"]) == (2, 0)
    assert (again["stored"], again["skipped"]) == (0, 2)
    stray = handle(Route(hub, "interval_wh"), interval_csv(999, "2025-03-01 08:00,60,1"), ingest)
    assert stray["error"]["code"] == "device_not_in_household" and stray["stored"] == 0


def test_only_a_paired_hub_with_a_live_token_may_publish(schema_db: Engine) -> None:
    device = seed_home(schema_db)
    payload = interval_csv(device, "2025-03-01 08:00,60,1500")
    ingest, hub = store_ingest(schema_db), hub_source(schema_db)
    for source in ("vendor-a", f"hub-{device}", "hub-999"):
        result = handle(Route(source, "interval_wh"), payload, ingest)
        assert result["error"]["code"] == "unknown_hub", source
    with Session(schema_db) as session:
        for row in session.exec(select(ApiToken)).all():
            row.revoked_at = utcnow()
            session.add(row)
        session.commit()
    assert handle(Route(hub, "interval_wh"), payload, ingest)["error"]["code"] == "unknown_hub"


async def test_a_payload_the_database_keeps_refusing_while_it_answers_is_skipped_not_retried_forever(
    schema_db: Engine,
) -> None:
    def poison(source: str, fmt: str, text: str) -> IngestReport:
        raise StoreError("数据库暂时不可用")

    ingest = MqttIngest(broker("mqtt://127.0.0.1/t3"), poison)
    ingest.retry_initial_s = 0.001
    ingest.database_up = lambda: None
    client = FakeClient()
    await ingest._one(client, _message("t3/hub-1/telemetry/interval_wh", b"x"))  # type: ignore[arg-type]
    assert client.published[0][1]["error"]["code"] == "not_stored" and ingest.poisoned == 1


class FakeClient:
    """Collects what the ingest publishes."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], int]] = []

    async def publish(self, topic: str, payload: str, qos: int = 0) -> None:
        self.published.append((topic, json.loads(payload), qos))


def _message(topic: str, payload: bytes) -> Any:
    return SimpleNamespace(topic=topic, payload=payload)


async def test_each_input_message_gets_one_qos1_result_and_results_are_ignored(schema_db: Engine) -> None:
    device = seed_home(schema_db)
    hub = hub_source(schema_db)
    ingest = MqttIngest(broker("mqtt://127.0.0.1/t1"), store_ingest(schema_db))
    client = FakeClient()
    good = interval_csv(device, "2025-03-01 08:00,60,1500")
    for topic, payload in [
        (f"t1/{hub}/telemetry/interval_wh", good),
        (f"t1/{hub}/telemetry/interval_wh", good),
        (f"t1/{hub}/telemetry/result", b"{}"),
        (f"t1/{hub}/telemetry/interval_wh", b"not,a,csv\n"),
    ]:
        await ingest._one(client, _message(topic, payload))  # type: ignore[arg-type]
    assert [(t, r["status"], r["stored"], r["skipped"], q) for t, r, q in client.published] == [
        (f"t1/{hub}/telemetry/result", "ok", 1, 0, 1),
        (f"t1/{hub}/telemetry/result", "ok", 0, 1, 1),
        (f"t1/{hub}/telemetry/result", "error", 0, 0, 1),
    ]
    assert ingest.handled == 3


async def test_a_database_outage_delays_the_result_until_the_write_succeeds(schema_db: Engine) -> None:
    device = seed_home(schema_db)
    real = store_ingest(schema_db)
    failures = [StoreError("数据库暂时不可用")] * 2

    def flaky(source: str, fmt: str, text: str) -> IngestReport:
        if failures:
            raise failures.pop()
        return real(source, fmt, text)

    ingest = MqttIngest(broker("mqtt://127.0.0.1/t2"), flaky)
    ingest.retry_initial_s = 0.001
    client = FakeClient()
    await ingest._one(
        client,
        _message(
            f"t2/{hub_source(schema_db)}/telemetry/interval_wh", interval_csv(device, "2025-03-01 08:00,60,5")
        ),
    )  # type: ignore[arg-type]
    assert failures == [] and client.published[0][1]["stored"] == 1


class _Paho:
    """Records manual acknowledgements."""

    def __init__(self, client: FakeClient) -> None:
        self.client, self.acks = client, []  # type: ignore[var-annotated]

    def ack(self, mid: int, qos: int) -> None:
        self.acks.append((mid, qos, len(self.client.published)))


async def test_a_message_is_acknowledged_only_after_its_result_is_published(schema_db: Engine) -> None:
    device = seed_home(schema_db)
    hub = hub_source(schema_db)
    ingest = MqttIngest(broker("mqtt://127.0.0.1/t4"), store_ingest(schema_db))
    client = FakeClient()
    paho = _Paho(client)
    client._client = paho  # type: ignore[attr-defined]
    good = SimpleNamespace(
        topic=f"t4/{hub}/telemetry/interval_wh",
        payload=interval_csv(device, "2025-03-01 08:00,60,5"),
        mid=7,
        qos=1,
    )
    ignored = SimpleNamespace(topic=f"t4/{hub}/telemetry/result", payload=b"{}", mid=8, qos=1)
    await ingest._one(client, good)  # type: ignore[arg-type]
    await ingest._one(client, ignored)  # type: ignore[arg-type]
    assert paho.acks == [(7, 1, 1), (8, 1, 1)]
    ingest.stop.set()
    unanswered = SimpleNamespace(topic=f"t4/{hub}/telemetry/interval_wh", payload=b"x", mid=9, qos=1)
    await ingest._one(client, unanswered)  # type: ignore[arg-type]
    assert [a[0] for a in paho.acks] == [7, 8], "a message not answered is not acknowledged"
