"""Onboarding through the gateway on an empty database: tenant and admin token (as the CLI makes
them), households and devices by the admin API, pairing, token revocation, hub-bound telemetry, and
the hostile cases (each a clear 4xx that changes nothing)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, update

from bot.admin import tokens
from bot.config import Config
from bot.conversation.pipeline import Speech
from bot.errors import ConfigError
from bot.gateway.app import refuse_demo_tokens
from bot.speech.settings import SpeechSettings
from bot.store.credentials import PairingCode
from bot.store.db import session_scope, utcnow
from bot.store.models import ApiToken, Device, EnergyReading, Household
from bot.store.repo import issue_token
from tests.fakes import FakeDialogue, FakeStt, FakeTts
from tests.gateway_kit import Client, make_client
from tests.test_voice_ws import SAMPLE_RATE, speech_audio, stream_run

CSV_HEAD = "device_id,interval_start,minutes,energy_wh\n"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_tenant(engine: Engine, tenant_id: str) -> dict[str, str]:
    """A tenant and its admin token, as ``bot tenant create`` and ``bot tenant token issue`` make them."""
    with session_scope(engine) as session:
        tokens.create_tenant(session, tenant_id, f"{tenant_id} 电器", "小安", "")
        token, _ = tokens.issue(session, tenant_id, "admin", "ops", utcnow())
    return bearer(token)


@pytest.fixture
def admin(schema_db: Engine) -> dict[str, str]:
    return new_tenant(schema_db, "acme")


@pytest.fixture
async def client(aiohttp_client: Any, schema_db: Engine) -> Client:
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好", "你好"]), tts=FakeTts())
    return await make_client(aiohttp_client, schema_db, FakeDialogue(), speech=speech)


async def household(client: Client, admin: dict[str, str]) -> int:
    resp = await client.post("/api/v1/admin/households", json={"name": "赵家", "members": 4}, headers=admin)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["household_id"])


async def add(client: Client, admin: dict[str, str], home: int, **body: Any) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/admin/households/{home}/devices", json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    out: dict[str, Any] = await resp.json()
    return out


async def pair(client: Client, code: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/api/v1/pair", json={"code": code})
    return resp.status, await resp.json()


async def paired_home(client: Client, admin: dict[str, str]) -> dict[str, Any]:
    """A household with a speaker, a hub and an air conditioner; speaker and hub paired."""
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱", room="客厅")
    hub = await add(client, admin, home, kind="hub", name="家庭网关", room="客厅")
    aircon = await add(
        client,
        admin,
        home,
        kind="appliance",
        category="空调",
        name="客厅空调",
        room="客厅",
        rated_power_w=1500,
    )
    _, speaker_pair = await pair(client, speaker["pairing"]["code"])
    _, hub_pair = await pair(client, hub["pairing"]["code"])
    return {
        "home": home,
        "speaker": speaker,
        "hub": hub,
        "aircon": aircon["device_id"],
        "speaker_token": speaker_pair["token"],
        "hub_token": hub_pair["token"],
    }


def count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


async def test_devices_with_credentials_get_a_pairing_code_and_qr_appliances_do_not(
    client: Client, admin: dict[str, str]
) -> None:
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱", room="客厅")
    aircon = await add(client, admin, home, kind="appliance", category="空调", name="客厅空调")
    code = speaker["pairing"]["code"]
    assert code.isdigit() and 6 <= len(code) <= 8
    assert speaker["pairing"]["qr_svg"].startswith("<svg") and speaker["kind"] == "speaker"
    assert "pairing" not in aircon and aircon["category"] == "空调"
    listed = await (await client.get(f"/api/v1/admin/households/{home}/devices", headers=admin)).json()
    assert [d["name"] for d in listed["devices"]] == ["客厅音箱", "客厅空调"]


async def test_pairing_gives_a_token_once_stored_hashed_that_converses(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱")
    status, body = await pair(client, speaker["pairing"]["code"])
    assert status == 201
    assert body["device_id"] == speaker["device_id"] and body["household_id"] == home
    assert body["kind"] == "speaker"
    with Session(schema_db) as session:
        stored = session.exec(select(ApiToken).where(ApiToken.device_id == speaker["device_id"])).all()
        codes = session.exec(select(PairingCode)).all()
    assert len(stored) == 1 and body["token"] not in stored[0].token_hash
    assert all(speaker["pairing"]["code"] not in c.code_hash for c in codes)
    resp = await client.post("/api/v1/converse", json={"text": "你好"}, headers=bearer(body["token"]))
    assert resp.status == 200


async def test_a_reused_or_expired_code_is_refused_in_chinese_and_changes_nothing(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱")
    panel = await add(client, admin, home, kind="panel", name="中控屏")
    assert (await pair(client, speaker["pairing"]["code"]))[0] == 201
    tokens_before = count(schema_db, ApiToken)
    status, body = await pair(client, speaker["pairing"]["code"])
    assert (status, body["error"]["code"]) == (409, "pairing_code_used")
    assert "已经用过" in body["error"]["message"]
    with session_scope(schema_db) as session:
        session.execute(update(PairingCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    status, body = await pair(client, panel["pairing"]["code"])
    assert (status, body["error"]["code"]) == (410, "pairing_code_expired")
    assert "过期" in body["error"]["message"]
    assert count(schema_db, ApiToken) == tokens_before


async def test_twenty_wrong_codes_in_a_row_lock_the_source_out_even_for_the_right_code(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱")
    right = speaker["pairing"]["code"]
    wrong = [f"{(int(right) + n) % 10**8:08d}" for n in range(1, 21)]
    statuses = [(await pair(client, code))[0] for code in wrong]
    assert statuses == [400] * 20
    status, body = await pair(client, right)
    assert (status, body["error"]["code"]) == (429, "pairing_locked")
    assert int((await client.post("/api/v1/pair", json={"code": right})).headers["Retry-After"]) > 60
    assert "分钟后再试" in body["error"]["message"]
    assert count(schema_db, ApiToken) == 1  # the admin's only


async def test_a_revoked_token_answers_401_on_the_next_request_and_websocket_run(
    client: Client, admin: dict[str, str]
) -> None:
    home = await paired_home(client, admin)
    speaker = bearer(home["speaker_token"])
    async with client.ws_connect("/api/v1/voice", headers=speaker) as ws:
        first = await stream_run(ws, speech_audio("你好", "cmn", SAMPLE_RATE), SAMPLE_RATE)
        assert first[-1]["type"] == "run-end"
        resp = await client.delete(
            f"/api/v1/admin/devices/{home['speaker']['device_id']}/tokens", headers=admin
        )
        assert resp.status == 204
        await ws.send_json({"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16"})
        refused = json.loads((await ws.receive()).data)
    assert refused["type"] == "error" and refused["data"]["code"] == "invalid_token"
    resp = await client.post("/api/v1/converse", json={"text": "你好"}, headers=speaker)
    assert resp.status == 401


async def test_an_admin_of_another_tenant_cannot_touch_this_tenants_households(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await household(client, admin)
    speaker = await add(client, admin, home, kind="speaker", name="客厅音箱")
    other = new_tenant(schema_db, "rival")
    devices = count(schema_db, Device)
    body = {"kind": "speaker", "name": "偷偷加的音箱"}
    resp = await client.post(f"/api/v1/admin/households/{home}/devices", json=body, headers=other)
    assert resp.status == 404
    for method, path in (
        ("delete", f"/api/v1/admin/devices/{speaker['device_id']}/tokens"),
        ("delete", f"/api/v1/admin/households/{home}"),
        ("patch", f"/api/v1/admin/devices/{speaker['device_id']}"),
        ("post", f"/api/v1/admin/devices/{speaker['device_id']}/pairing"),
    ):
        resp = await getattr(client, method)(path, json={"name": "x"}, headers=other)
        assert resp.status == 404, (method, path)
    assert count(schema_db, Device) == devices
    assert (await client.get("/api/v1/admin/households", headers=other)).status == 200
    assert (await (await client.get("/api/v1/admin/households", headers=other)).json())["households"] == []


async def test_device_tokens_cannot_administer_and_speaker_tokens_cannot_upload(
    client: Client, admin: dict[str, str]
) -> None:
    home = await paired_home(client, admin)
    speaker, hub = bearer(home["speaker_token"]), bearer(home["hub_token"])
    assert (await client.post("/api/v1/admin/households", json={"name": "x"}, headers=speaker)).status == 403
    body = {"format": "interval_wh", "payload": CSV_HEAD}
    assert (await client.post("/api/v1/telemetry", json=body, headers=speaker)).status == 403
    assert (await client.post("/api/v1/converse", json={"text": "你好"}, headers=hub)).status == 403


async def test_a_hub_writes_its_household_readings_and_bad_ones_are_rejected_with_reasons(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await paired_home(client, admin)
    hub, aircon = bearer(home["hub_token"]), home["aircon"]
    rows = [
        f"{aircon},2025-07-01 08:00,60,900",
        f"{aircon},2025-07-01 09:00,60,NaN",
        f"{aircon},2025-07-01 10:00,60,-5",
        f"{aircon},2025-07-01 11:00,60,1e13",
        f"{aircon},2099-07-01 11:00,60,100",
    ]
    payload = CSV_HEAD + "\n".join(rows) + "\n"
    resp = await client.post(
        "/api/v1/telemetry", json={"format": "interval_wh", "payload": payload}, headers=hub
    )
    body = await resp.json()
    assert resp.status == 200 and body["accepted"] == 1
    reasons = [r["reason"] for r in body["rejected"]]
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4]
    assert "finite" in reasons[0] and "negative" in reasons[1]
    assert "more than this device can use" in reasons[2] and "future" in reasons[3]
    assert count(schema_db, EnergyReading) == 1


async def test_a_batch_of_only_bad_readings_is_422_and_the_next_valid_reading_is_stored(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await paired_home(client, admin)
    hub, aircon = bearer(home["hub_token"]), home["aircon"]
    for bad in ("NaN", "-1", "1e13"):
        payload = f"{CSV_HEAD}{aircon},2025-07-01 08:00,60,{bad}\n"
        resp = await client.post(
            "/api/v1/telemetry", json={"format": "interval_wh", "payload": payload}, headers=hub
        )
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["code"] == "no_valid_readings"
    assert count(schema_db, EnergyReading) == 0
    payload = f"{CSV_HEAD}{aircon},2025-07-01 08:00,60,800\n"
    resp = await client.post(
        "/api/v1/telemetry", json={"format": "interval_wh", "payload": payload}, headers=hub
    )
    assert (resp.status, (await resp.json())["accepted"]) == (200, 1)


async def test_another_households_device_in_a_hub_batch_refuses_the_whole_batch_without_saying_more(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    mine = await paired_home(client, admin)
    theirs = await paired_home(client, admin)
    with session_scope(schema_db) as session:
        session.add(
            EnergyReading(device_id=theirs["aircon"], start=utcnow() - timedelta(days=1), seconds=3600, kwh=1)
        )
    payload = (
        f"{CSV_HEAD}{mine['aircon']},2025-07-01 08:00,60,800\n{theirs['aircon']},2025-07-01 08:00,60,800\n"
    )
    body = {"format": "interval_wh", "payload": payload}
    resp = await client.post("/api/v1/telemetry", json=body, headers=bearer(mine["hub_token"]))
    foreign = await resp.json()
    payload = f"{CSV_HEAD}{mine['aircon']},2025-07-01 08:00,60,800\n999999,2025-07-01 08:00,60,800\n"
    body = {"format": "interval_wh", "payload": payload}
    unknown = await (
        await client.post("/api/v1/telemetry", json=body, headers=bearer(mine["hub_token"]))
    ).json()
    assert resp.status == 403 and foreign["error"]["code"] == "device_not_in_household"
    assert foreign["error"]["message"].replace(str(theirs["aircon"]), "N") == unknown["error"][
        "message"
    ].replace("999999", "N")
    assert count(schema_db, EnergyReading) == 1


async def test_a_conflicting_reading_does_not_echo_the_stored_value(
    client: Client, admin: dict[str, str]
) -> None:
    home = await paired_home(client, admin)
    hub, aircon = bearer(home["hub_token"]), home["aircon"]
    first = f"{CSV_HEAD}{aircon},2025-07-01 08:00,60,1234\n"
    await client.post("/api/v1/telemetry", json={"format": "interval_wh", "payload": first}, headers=hub)
    second = f"{CSV_HEAD}{aircon},2025-07-01 08:00,60,800\n"
    resp = await client.post(
        "/api/v1/telemetry", json={"format": "interval_wh", "payload": second}, headers=hub
    )
    body = await resp.json()
    assert resp.status == 422 and "1.234" not in json.dumps(body) and "stored value kept" in json.dumps(body)


async def test_tokens_are_listed_without_secrets_and_revoked_by_id(
    client: Client, admin: dict[str, str]
) -> None:
    home = await paired_home(client, admin)
    listed = await (await client.get("/api/v1/admin/tokens", headers=admin)).json()
    text = json.dumps(listed)
    assert home["speaker_token"] not in text and home["hub_token"] not in text
    hub_row = next(t for t in listed["tokens"] if t["role"] == "hub")
    assert (await client.delete(f"/api/v1/admin/tokens/{hub_row['token_id']}", headers=admin)).status == 204
    body = {"format": "interval_wh", "payload": CSV_HEAD}
    assert (
        await client.post("/api/v1/telemetry", json=body, headers=bearer(home["hub_token"]))
    ).status == 401


async def test_an_expired_token_is_refused(client: Client, schema_db: Engine) -> None:
    with session_scope(schema_db) as session:
        tokens.create_tenant(session, "acme", "Acme", "小安", "")
        now = utcnow()
        issue_token(
            session, "old-admin", "admin", "acme", None, "", now - timedelta(days=2), now - timedelta(days=1)
        )
    resp = await client.get("/api/v1/admin/tokens", headers=bearer("old-admin"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (401, "token_expired")


async def test_removing_a_household_erases_its_data_and_stops_its_credentials(
    client: Client, admin: dict[str, str], schema_db: Engine
) -> None:
    home = await paired_home(client, admin)
    payload = f"{CSV_HEAD}{home['aircon']},2025-07-01 08:00,60,800\n"
    hub = bearer(home["hub_token"])
    await client.post("/api/v1/telemetry", json={"format": "interval_wh", "payload": payload}, headers=hub)
    resp = await client.delete(f"/api/v1/admin/households/{home['home']}", headers=admin)
    body = await resp.json()
    assert resp.status == 200 and body["removed"] == "deleted" and body["readings"] == 1
    assert count(schema_db, EnergyReading) == 0 and count(schema_db, Device) == 0
    with Session(schema_db) as session:
        assert session.get(Household, home["home"]) is None
    resp = await client.post("/api/v1/converse", json={"text": "你好"}, headers=bearer(home["speaker_token"]))
    assert resp.status == 401


async def test_bad_household_and_device_input_is_422_in_chinese(
    client: Client, admin: dict[str, str]
) -> None:
    resp = await client.post("/api/v1/admin/households", json={"name": ""}, headers=admin)
    assert resp.status == 422
    home = await household(client, admin)
    for body in ({"kind": "robot", "name": "x"}, {"kind": "appliance", "category": "火箭", "name": "x"}):
        resp = await client.post(f"/api/v1/admin/households/{home}/devices", json=body, headers=admin)
        assert resp.status == 422 and "必须" in (await resp.json())["error"]["message"]


def test_a_gateway_with_live_demo_tokens_refuses_to_start_unless_demo_is_on(demo_db: Engine) -> None:
    with pytest.raises(ConfigError) as err:
        refuse_demo_tokens(demo_db, Config(demo=False))
    assert "demo-zhang-speaker" in err.value.message and "bot tenant token revoke --demo" in err.value.message
    refuse_demo_tokens(demo_db, Config(demo=True))
    with session_scope(demo_db) as session:
        assert "demo-admin" in tokens.revoke_demo_tokens(session, utcnow())
    refuse_demo_tokens(demo_db, Config(demo=False))
