"""Bad input at the API: each gets a clear 4xx JSON error (Chinese message), nothing runs or is lost,
and the server keeps answering afterwards."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.conversation.pipeline import Speech
from bot.speech.audio import pcm16_to_wav
from bot.speech.settings import SpeechSettings
from bot.store.ledger import OfferAudit
from bot.store.models import ConsentEvent, Turn
from tests.fakes import FakeDialogue, FakeStt, FakeTts
from tests.gateway_kit import LI, ZHANG, ZHANG_PANEL, Client, make_client
from tests.test_gateway_rights import household_of, make_offer

LIMITS = {"body_timeout_s": 0.5, "ws_idle_timeout_s": 0.5, "max_audio_s": 5, "burst": 8, "rate_per_s": 2}
WAV = {**ZHANG, "Content-Type": "audio/wav"}
FORGED = {"Authorization": "Bearer demo-zhang-speaker-but-not-really"}


@pytest.fixture
def dialogue() -> FakeDialogue:
    return FakeDialogue()


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine, dialogue: FakeDialogue) -> Client:
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好"] * 20), tts=FakeTts())
    return await make_client(aiohttp_client, demo_db, dialogue, speech=speech, gateway=LIMITS)


async def error_of(resp: aiohttp.ClientResponse) -> tuple[int, str, str]:
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) <= {"error", "events"}, body
    if "events" in body:  # turn endpoints add the turn's one error event
        assert [(e["type"], e["data"]["code"]) for e in body["events"]] == [("error", body["error"]["code"])]
    assert "Traceback" not in json.dumps(body)
    return resp.status, body["error"]["code"], body["error"]["message"]


async def still_up(client: Client, dialogue: FakeDialogue) -> None:
    before = len(dialogue.calls)
    resp = await client.post("/api/v1/converse", json={"text": "你好"}, headers=ZHANG_PANEL)
    assert resp.status == 200
    assert len(dialogue.calls) == before + 1


def counts(demo_db: Engine) -> tuple[int, int, int]:
    with Session(demo_db) as session:
        return (
            session.exec(select(func.count()).select_from(Turn)).one(),
            session.exec(select(func.count()).select_from(ConsentEvent)).one(),
            session.exec(select(func.count()).select_from(OfferAudit)).one(),
        )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/converse"),
        ("POST", "/api/v1/converse/audio"),
        ("GET", "/api/v1/me/consents"),
        ("POST", "/api/v1/me/consents"),
        ("GET", "/api/v1/me/offers"),
        ("DELETE", "/api/v1/me/data"),
        ("POST", "/api/v1/me/applications/1/confirm"),
    ],
)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        (FORGED, "invalid_token"),
        ({"Authorization": "Bearer demo-designer"}, "not_a_device"),
    ],
)
async def test_no_forged_or_wrong_kind_of_token_is_refused_everywhere(
    client: Client,
    dialogue: FakeDialogue,
    demo_db: Engine,
    method: str,
    path: str,
    headers: dict[str, str],
    code: str,
) -> None:
    before = counts(demo_db)
    resp = await client.request(
        method, path, headers=headers, json={"text": "你好", "scope": "energy_data", "granted": True}
    )
    status, got, message = await error_of(resp)
    assert (status, got) == (403 if code == "not_a_device" else 401, code)
    assert message and dialogue.calls == [] and counts(demo_db) == before


async def test_another_households_ids_are_not_found(
    client: Client, demo_db: Engine, dialogue: FakeDialogue
) -> None:
    offer_id = make_offer(demo_db, household_of(demo_db, ZHANG))
    for method, path in (
        ("GET", f"/api/v1/me/offers/{offer_id}"),
        ("GET", f"/api/v1/me/applications/{offer_id}"),
        ("GET", f"/api/v1/me/applications/{offer_id}/qr"),
        ("POST", f"/api/v1/me/applications/{offer_id}/confirm"),
        ("POST", f"/api/v1/me/applications/{offer_id}/cancel"),
    ):
        status, code, _ = await error_of(await client.request(method, path, headers=LI))
        assert status == 404 and code.endswith("not_found"), (path, code)
    for bad in ("abc", "-1", "1" * 40):
        status, code, _ = await error_of(await client.get(f"/api/v1/me/offers/{bad}", headers=LI))
        assert status in (400, 404), code
    card = await (await client.get(f"/api/v1/me/applications/{offer_id}", headers=ZHANG)).json()
    assert card["state"] == "pending", "the other household's attempts changed nothing"
    await still_up(client, dialogue)


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ("", 400, "text_empty"),
        ("   \n\t ", 400, "text_empty"),
        ("\u200b\u200d\ufeff", 400, "text_empty"),
        ("\ud800", 400, "text_empty"),
        ("\x00\x07\x1b", 400, "text_empty"),
        ("电" * 501, 400, "text_too_long"),
        ("电" * 30000, 413, "too_large"),
        ("/greet", 400, "command_refused"),
        ('/intent{"device_type":"空调"}', 400, "command_refused"),
        ("／ask_installment", 400, "command_refused"),
        ("\u3000/restart", 400, "command_refused"),
        ("嗯 /stop", 400, "command_refused"),
        ("\u200b/greet", 400, "command_refused"),
        (None, 400, "text_required"),
        (12, 400, "text_required"),
        (["你好"], 400, "text_required"),
    ],
)
async def test_bad_text_is_refused_before_the_dialogue(
    client: Client, dialogue: FakeDialogue, demo_db: Engine, text: Any, status: int, code: str
) -> None:
    before = counts(demo_db)
    resp = await client.post("/api/v1/converse", json={"text": text, "turn_id": "t"}, headers=ZHANG)
    assert (await error_of(resp))[:2] == (status, code)
    assert dialogue.calls == [] and counts(demo_db) == before
    await still_up(client, dialogue)


@pytest.mark.parametrize(
    "text", ["我家\u202e空调\u202c用了多少电", "空调用了多少电😀", "Ｗｉ-Ｆｉ 冰箱 用电", "空調用電"]
)
async def test_odd_but_meaningful_unicode_is_normalised_and_answered(
    client: Client, dialogue: FakeDialogue, text: str
) -> None:
    resp = await client.post("/api/v1/converse", json={"text": text}, headers=ZHANG)
    assert resp.status == 200
    sent = dialogue.calls[-1][1]
    assert "\u202e" not in sent and "Ｗ" not in sent


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (
            b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 500,
            "audio/wav",
            415,
            "unsupported_audio_format",
        ),
        (b"\xff\xfb\x90\x00" * 500, "audio/wav", 415, "unsupported_audio_format"),
        (b"OggS" + bytes(400), "audio/wav", 415, "unsupported_audio_format"),
        (b"hello, this is text", "audio/wav", 415, "not_wav"),
        (b"", "audio/wav", 400, "audio_empty"),
        (pcm16_to_wav(bytes(32000))[:30], "audio/wav", 400, "audio_truncated"),
        (pcm16_to_wav(bytes(32000))[:-10000], "audio/wav", 400, "audio_truncated"),
        (pcm16_to_wav(bytes(16000 * 2 * 6)), "audio/wav", 413, "audio_too_long"),
        (pcm16_to_wav(bytes(3200)), "audio/mpeg", 415, "unsupported_media_type"),
        (pcm16_to_wav(bytes(3200)), "application/json", 415, "unsupported_media_type"),
        (bytes(9 * 1024 * 1024), "audio/wav", 413, "too_large"),
    ],
)
async def test_bad_audio_gets_a_clear_error(
    client: Client,
    dialogue: FakeDialogue,
    demo_db: Engine,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    before = counts(demo_db)
    resp = await client.post(
        "/api/v1/converse/audio", data=body, headers={**ZHANG, "Content-Type": content_type}
    )
    assert (await error_of(resp))[:2] == (status, code)
    assert dialogue.calls == [] and counts(demo_db) == before
    await still_up(client, dialogue)


def lying_wav(declared_rate: int, channels: int, bits: int) -> bytes:
    """A WAV whose fmt chunk declares an impossible format."""
    fmt = struct.pack("<HHIIHH", 1, channels, declared_rate, declared_rate * 2, 2, bits)
    data = bytes(3200)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize(
    ("rate", "channels", "bits"), [(0, 1, 16), (16000, 0, 16), (16000, 1, 12), (999999, 1, 16)]
)
async def test_lying_wav_headers_are_refused(
    client: Client, dialogue: FakeDialogue, rate: int, channels: int, bits: int
) -> None:
    resp = await client.post("/api/v1/converse/audio", data=lying_wav(rate, channels, bits), headers=WAV)
    status, code, message = await error_of(resp)
    assert status in (400, 415) and message, code
    assert dialogue.calls == []


async def test_a_slow_client_times_out_with_408_and_the_server_stays_up(
    client: Client, dialogue: FakeDialogue
) -> None:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = (
        "POST /api/v1/converse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-zhang-speaker\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    writer.write(head.encode() + b'{"text": "')
    await writer.drain()
    response = await asyncio.wait_for(reader.read(4096), timeout=5)
    writer.close()
    assert response.startswith(b"HTTP/1.1 408")
    assert b'"request_timeout"' in response
    assert dialogue.calls == []
    await still_up(client, dialogue)


async def test_a_burst_over_the_rate_limit_gets_429s_and_every_accepted_turn_is_answered(
    client: Client, dialogue: FakeDialogue, demo_db: Engine
) -> None:
    dialogue.delay_s = 0.01
    bodies = [{"text": f"第{i}句", "turn_id": f"burst-{i}"} for i in range(20)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/converse", json=b, headers=ZHANG) for b in bodies)
    )
    accepted = [b for b, r in zip(bodies, responses, strict=True) if r.status == 200]
    refused = [r for r in responses if r.status != 200]
    assert len(accepted) == LIMITS["burst"]
    for resp in refused:
        assert (await error_of(resp))[:2] == (429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
    assert sorted(t for _, t in dialogue.calls) == sorted(b["text"] for b in accepted)
    with Session(demo_db) as session:
        stored = set(session.exec(select(Turn.turn_key)).all())
    assert stored == {b["turn_id"] for b in accepted}, "every accepted turn was stored, no refused one"
    other = await client.post("/api/v1/converse", json={"text": "你好"}, headers=LI)
    assert other.status == 200, "another device has its own budget"
    await asyncio.sleep(1 / LIMITS["rate_per_s"] + 0.1)
    again = await client.post("/api/v1/converse", json=bodies[-1], headers=ZHANG)
    assert again.status == 200, "the budget refills"


async def ws_events(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    events = []
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            events.append(json.loads(msg.data))
    return events


async def test_websocket_protocol_errors_are_error_events(client: Client, dialogue: FakeDialogue) -> None:
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_bytes(bytes(3200))
        await ws.send_str("not json")
        await ws.send_json(["start"])
        await ws.send_json({"type": "dance"})
        await ws.send_json({"type": "start", "sample_rate": 44100, "format": "opus"})
        await ws.send_json({"type": "start", "sample_rate": 4000, "format": "pcm16"})
        await ws.send_json({"type": "start", "sample_rate": "16k", "format": "pcm16"})
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16", "turn_id": "x" * 200})
        await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16"})
        await ws.send_bytes(bytes(3))
        events = await ws_events(ws)
    codes = [e["data"].get("code") for e in events if e["type"] == "error"]
    assert codes[:8] == [
        "not_started",
        "bad_json",
        "bad_json",
        "bad_message",
        "unsupported_format",
        "bad_sample_rate",
        "bad_sample_rate",
        "bad_turn_id",
    ]
    assert "bad_frame" in codes and codes[-1] == "idle_timeout"
    assert dialogue.calls == []
    await still_up(client, dialogue)


async def test_websocket_auth_frames_and_idle_clients(client: Client, dialogue: FakeDialogue) -> None:
    async with client.ws_connect("/api/v1/voice") as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000, "token": "forged"})
        events = await ws_events(ws)
    assert [e["data"]["code"] for e in events] == ["invalid_token"]
    async with client.ws_connect("/api/v1/voice") as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000})
        events = await ws_events(ws)
    assert [e["data"]["code"] for e in events] == ["missing_token"]
    for headers, status, code in (
        (FORGED, 401, "invalid_token"),
        ({"Authorization": "Bearer demo-designer"}, 403, "not_a_device"),
        (ZHANG, 400, "websocket_required"),
    ):
        resp = await client.get("/api/v1/voice", headers=headers)
        assert (await error_of(resp))[:2] == (status, code)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_json({"type": "start", "sample_rate": 16000})
        await ws.send_bytes(bytes(64 * 1024 + 2))
        events = await ws_events(ws)
    assert next(e["data"].get("code") for e in events if e["type"] == "error") == "frame_too_large"
    assert events[-1]["type"] in ("run-end", "error")
    origin = {**ZHANG, "Origin": "http://evil.example"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/v1/voice", headers=origin)
    assert refused.value.status == 403
    assert dialogue.calls == []
    await still_up(client, dialogue)


async def test_unknown_routes_and_methods_are_json(client: Client) -> None:
    assert (await error_of(await client.get("/api/v1/nothing")))[:2] == (404, "not_found")
    assert (await error_of(await client.put("/api/v1/converse", headers=ZHANG)))[:2] == (
        405,
        "method_not_allowed",
    )
    assert (await error_of(await client.get("/panel/../bot/config.py")))[0] == 404
    assert (await error_of(await client.get("/panel/secret.py")))[:2] == (404, "not_found")
