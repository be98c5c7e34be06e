"""The edge under abuse: each hostile case ends in a clear 4xx/close with nothing changed, and the
next legitimate request is served (issue 20).

No timed assertions: waits have generous hang guards only; how fast the legitimate requests stay is
measured by ``bench/edge.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import bot.gateway.routes
from bot.conversation.pipeline import Speech
from bot.errors import AuthError
from bot.gateway.voice_limits import CLOSE_POLICY, VOICE
from bot.partners import signing
from bot.speech.audio import SAMPLE_RATE, pcm16_to_wav, wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.store.db import utcnow
from bot.store.models import ApiToken, TokenRole, Turn
from bot.store.repo import Principal, hash_token, issue_token
from tests.fakes import FakeDialogue, FakeStt, FakeTts, silence_wav
from tests.gateway_kit import DESIGNER, LI, ZHANG, ZHANG_PANEL, Client, make_client
from tests.speech_fixtures import espeak_wav

GUARD_S = 60.0
"""Hang guard of every wait (never a latency assertion)."""
ATTACKER = {"X-Forwarded-For": "203.0.113.7"}
"""The attack's source, as the trusted proxy in front (loopback) reports it."""
ELSEWHERE = {"X-Forwarded-For": "198.51.100.20"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


class Lookups:
    """Counts the token lookups that reach the database."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def wrap(self, real: Any) -> Any:
        def authenticate(session: Session, token: str) -> Principal:
            self.tokens.append(token)
            return real(session, token)

        return authenticate


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    counter = Lookups()
    monkeypatch.setattr(bot.gateway.routes, "authenticate", counter.wrap(bot.gateway.routes.authenticate))
    return counter


def turns(demo_db: Engine) -> int:
    with Session(demo_db) as session:
        return session.exec(select(func.count()).select_from(Turn)).one()


async def error_of(resp: aiohttp.ClientResponse) -> tuple[int, str]:
    body = await resp.json()
    assert "Traceback" not in json.dumps(body) and body["error"]["message"]
    return resp.status, body["error"]["code"]


async def text_turn(client: Client, headers: dict[str, str], text: str = "你好") -> int:
    """A text turn (with an idempotency key, so its outcome is stored); its status."""
    body = {"text": text, "turn_id": secrets.token_hex(8)}
    resp = await client.post("/api/v1/converse", json=body, headers=headers)
    return resp.status


def spoken_pcm(text: str = "你好") -> bytes:
    """16 kHz PCM16: half a second of silence, the phrase, a second and a half of silence."""
    return bytes(SAMPLE_RATE) + wav_to_pcm16(espeak_wav(text, "cmn")) + bytes(SAMPLE_RATE * 3)


async def voice_run(ws: aiohttp.ClientWebSocketResponse, **start: Any) -> list[Any]:
    """One run: start, the phrase in 100 ms frames, end; everything until run-end."""
    await ws.send_json({"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16", **start})
    pcm = spoken_pcm()
    for i in range(0, len(pcm), 3200):
        await ws.send_bytes(pcm[i : i + 3200])
    await ws.send_json({"type": "end"})
    received: list[Any] = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), GUARD_S)
        if msg.type == aiohttp.WSMsgType.BINARY:
            received.append(msg.data)
            continue
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        received.append(json.loads(msg.data))
        if received[-1]["type"] == "run-end":
            return received


def codes(received: Sequence[Any]) -> list[str]:
    return [e["data"]["code"] for e in received if isinstance(e, dict) and e["type"] == "error"]


async def until_closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[dict[str, Any]], int | None]:
    """The JSON events a socket still delivers, and its close code, once the server closed it."""
    events: list[dict[str, Any]] = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), GUARD_S)
        if msg.type == aiohttp.WSMsgType.TEXT:
            events.append(json.loads(msg.data))
        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return events, ws.close_code


async def eventually(condition: Any) -> None:
    """Wait (hang guard only) until ``condition()`` holds."""
    async with asyncio.timeout(GUARD_S):
        while not condition():
            await asyncio.sleep(0.02)


# --- failed authentication ------------------------------------------------------------------------


async def test_a_thousand_random_tokens_cost_a_handful_of_lookups_and_legitimate_callers_go_on(
    aiohttp_client: Any, demo_db: Engine, lookups: Lookups
) -> None:
    dialogue = FakeDialogue()
    client = await make_client(aiohttp_client, demo_db, dialogue)
    assert await text_turn(client, ZHANG) == 200  # this token is known to work from now on
    before, looked_up = turns(demo_db), len(lookups.tokens)

    async def forged(i: int) -> tuple[int, str, str | None]:
        headers = {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
        resp = await client.post("/api/v1/converse", json={"text": f"偷看{i}"}, headers=headers)
        status, code = await error_of(resp)
        return status, code, resp.headers.get("Retry-After")

    results = [
        r for batch in range(10) for r in await asyncio.gather(*(forged(batch * 100 + i) for i in range(100)))
    ]
    failure_burst, lanes = 10, 4  # GatewaySettings.auth_failure_burst, .auth_lookups_per_source
    assert len(lookups.tokens) - looked_up < failure_burst + lanes, "most never reached the database"
    assert {(s, c) for s, c, _ in results} <= {(401, "invalid_token"), (429, "auth_throttled")}
    throttled = [r for r in results if r[1] == "auth_throttled"]
    assert len(throttled) > 1000 - failure_burst - lanes and all(int(r[2] or 0) >= 1 for r in throttled)
    assert turns(demo_db) == before and all(t != "偷看" for _, t in dialogue.calls)

    assert await text_turn(client, ZHANG) == 200, "a token that worked before is still served"
    resp = await client.post("/api/v1/converse", json={"text": "你好"}, headers=LI)
    assert await error_of(resp) == (429, "auth_throttled"), "an unproven token shares its source's budget"
    assert await text_turn(client, {**LI, **ELSEWHERE}) == 200, "another source has its own budget"
    assert turns(demo_db) == before + 2


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    aiohttp_client: Any, demo_db: Engine, lookups: Lookups
) -> None:
    client = await make_client(
        aiohttp_client, demo_db, FakeDialogue(), gateway={"trusted_proxies": "10.9.9.9"}
    )
    for i in range(40):  # a new made-up source each time: ignored, the peer address counts
        headers = {"Authorization": f"Bearer forged-{i}", "X-Forwarded-For": f"192.0.2.{i}"}
        status, _ = await error_of(await client.get("/api/v1/me/consents", headers=headers))
        assert status in (401, 429)
    assert len(lookups.tokens) < 10 + 4


async def test_fifty_devices_behind_one_address_starting_at_once_are_all_served(
    aiohttp_client: Any, demo_db: Engine, lookups: Lookups
) -> None:
    with Session(demo_db) as session:
        speaker = session.get(ApiToken, hash_token(token_of(ZHANG)))
        assert speaker is not None
        for i in range(50):  # fifty devices' tokens (all on one device: only the token matters here)
            token = f"nat-device-{i}"
            issue_token(
                session, token, TokenRole.DEVICE, speaker.tenant_id, speaker.device_id, "nat", utcnow()
            )
        session.commit()
    client = await make_client(aiohttp_client, demo_db, FakeDialogue())
    statuses = await asyncio.gather(
        *(
            client.get("/api/v1/me/consents", headers={"Authorization": f"Bearer nat-device-{i}"})
            for i in range(50)
        )
    )
    assert [r.status for r in statuses] == [200] * 50, "no failed authentication, nothing throttled"
    assert len(lookups.tokens) == 50


async def test_every_authenticated_route_has_a_budget_nlu_parse_included(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    dialogue = FakeDialogue()
    client = await make_client(aiohttp_client, demo_db, dialogue, gateway={"burst": 5, "rate_per_s": 0.5})
    responses = await asyncio.gather(
        *(client.post("/api/v1/nlu/parse", json={"text": f"第{i}句"}, headers=DESIGNER) for i in range(12))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * 5 + [429] * 7
    for resp in responses:
        if resp.status == 429:
            assert await error_of(resp) == (429, "rate_limited") and int(resp.headers["Retry-After"]) >= 1
    assert len(dialogue.parsed) == 5, "refused parses never reached Rasa"
    paths = ["/api/v1/me/consents", "/api/v1/me/offers", "/api/v1/me/export", "/api/v1/me/home"] * 3
    statuses = [(path, (await client.get(path, headers=LI)).status) for path in paths]
    assert [s for _, s in statuses[:5]] == [200] * 5, "one budget of 5 for the token, whichever route"
    assert {p for p, s in statuses if s == 429} == set(paths), "then every route refuses it"
    assert await text_turn(client, ZHANG) == 200, "another token has its own budget"


# --- uploads and executors ---------------------------------------------------------------------


class HeldStt(FakeStt):
    """A recogniser whose utterances do not finish until the test lets them."""

    def __init__(self, script: list[str]):
        super().__init__(script)
        self.go = threading.Event()
        self.entered = threading.Semaphore(0)

    def start(self, grammar: Sequence[str] | None = None) -> Any:
        session = super().start(grammar)
        finish = session.finish

        def held() -> str:
            self.entered.release()
            self.go.wait(GUARD_S)
            return finish()

        session.finish = held
        return session


def eight_mb_wav() -> bytes:
    """A spoken phrase padded with silence to an 8 MB WAV (16 kHz mono, about 250 s)."""
    pcm = spoken_pcm()
    return pcm16_to_wav(pcm + bytes(8_000_000 - 44 - len(pcm)))


@pytest.fixture
def held_stt() -> Iterator[HeldStt]:
    stt = HeldStt(["空调用了多少电"] * 4)
    yield stt
    stt.go.set()


async def test_twenty_8mb_uploads_of_one_token_get_429_while_another_household_is_served(
    aiohttp_client: Any, demo_db: Engine, held_stt: HeldStt
) -> None:
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=held_stt, tts=FakeTts())
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=speech, gateway={"max_audio_s": 300, "burst": 50}
    )
    wav, headers = eight_mb_wav(), {**ZHANG, "Content-Type": "audio/wav"}
    uploads = [
        asyncio.create_task(client.post("/api/v1/converse/audio", data=wav, headers=headers))
        for _ in range(20)
    ]
    await eventually(lambda: held_stt.entered.acquire(blocking=False))  # one is being decoded (held)
    await eventually(lambda: sum(t.done() for t in uploads) == 19)
    refused = [task.result() for task in uploads if task.done()]
    for resp in refused:
        assert await error_of(resp) == (429, "too_many_uploads") and int(resp.headers["Retry-After"]) >= 1
    for i in range(10):  # the other household's text turns keep being served meanwhile
        assert await text_turn(client, LI, f"冰箱用了多少电{i}") == 200
    (held,) = [task for task in uploads if not task.done()]
    held_stt.go.set()
    accepted = await held
    assert accepted.status == 200 and (await accepted.json())["transcript"]
    assert sorted(t for _, t in dialogue.calls if t.startswith("空调")) == ["空调用了多少电"]
    resp = await client.post("/api/v1/converse/audio", data=wav, headers=headers)
    assert resp.status == 200, ("the next upload of that token is served", await resp.text())


async def test_uploads_beyond_the_process_cap_get_503_and_are_served_after(
    aiohttp_client: Any, demo_db: Engine, held_stt: HeldStt
) -> None:
    speech = Speech(SpeechSettings(), stt=held_stt, tts=FakeTts())
    client = await make_client(
        aiohttp_client, demo_db, FakeDialogue(), speech=speech, gateway={"audio_uploads": 2}
    )
    wav = pcm16_to_wav(spoken_pcm())
    held = [
        asyncio.create_task(
            client.post("/api/v1/converse/audio", data=wav, headers={**h, "Content-Type": "audio/wav"})
        )
        for h in (ZHANG, ZHANG_PANEL)
    ]
    for _ in held:
        await eventually(lambda: held_stt.entered.acquire(blocking=False))
    resp = await client.post("/api/v1/converse/audio", data=wav, headers={**LI, "Content-Type": "audio/wav"})
    assert await error_of(resp) == (503, "uploads_busy") and int(resp.headers["Retry-After"]) >= 1
    assert await text_turn(client, LI) == 200, "text turns do not wait for uploads"
    held_stt.go.set()
    assert [(await t).status for t in held] == [200, 200]
    resp = await client.post("/api/v1/converse/audio", data=wav, headers={**LI, "Content-Type": "audio/wav"})
    assert resp.status == 200


class HeldTts(FakeTts):
    """A synthesiser whose first answer does not come until the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.entered = threading.Event()

    def synthesize_stream(self, text: str, pace: float = 1.0) -> Iterator[bytes]:
        self.entered.set()
        self.go.wait(GUARD_S)
        yield from super().synthesize_stream(text, pace)


async def test_a_busy_synthesiser_holds_no_database_thread_and_one_answer_too_many_is_text_only(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    tts = HeldTts()
    speech = Speech(SpeechSettings(synthesiser_streams=1), stt=FakeStt(["你好", "冰箱呢"]), tts=tts)
    client = await make_client(
        aiohttp_client, demo_db, FakeDialogue(), speech=speech, gateway={"db_threads": 1}
    )
    try:
        async with client.ws_connect("/api/v1/voice", headers=ZHANG) as first:
            speaking = asyncio.create_task(voice_run(first))
            await eventually(tts.entered.is_set)  # (not on a thread: the test's own would take the one)
            for _ in range(5):  # one database thread, and the synthesiser's wait is not on it
                assert await text_turn(client, LI) == 200
            async with client.ws_connect("/api/v1/voice", headers=ZHANG_PANEL) as second:
                run = await voice_run(second)
            assert "tts_busy" in codes(run) and run[-1]["type"] == "run-end"
            assert any(e["type"] == "dialogue" for e in run if isinstance(e, dict)), "the answer as text"
            tts.go.set()
            assert "tts-end" in [e["type"] for e in await speaking if isinstance(e, dict)]
    finally:
        tts.go.set()


# --- websockets -----------------------------------------------------------------------------------

WS = {"ws_auth_timeout_s": 3, "ws_pending_per_source": 4, "ws_idle_timeout_s": 5}


async def test_a_hundred_unauthenticated_websockets_are_refused_or_closed_and_stall_nobody(
    aiohttp_client: Any, demo_db: Engine, lookups: Lookups
) -> None:
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好"] * 3), tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech, gateway=WS)
    limits = client.app[VOICE]
    attempts = await asyncio.gather(
        *(client.ws_connect("/api/v1/voice", headers=ATTACKER) for _ in range(100)), return_exceptions=True
    )
    opened = [a for a in attempts if isinstance(a, aiohttp.ClientWebSocketResponse)]
    refused = [a for a in attempts if isinstance(a, aiohttp.WSServerHandshakeError)]
    assert len(opened) == 4 and len(refused) == 96
    assert {r.status for r in refused} == {429}
    assert limits.pending.held() == 4

    assert await text_turn(client, ZHANG) == 200, "others are served while those sockets wait"
    async with client.ws_connect("/api/v1/voice", headers=LI) as ws:
        assert (await voice_run(ws))[-1]["type"] == "run-end"
    async with client.ws_connect("/api/v1/voice", headers=ELSEWHERE) as ws:  # a panel elsewhere
        await ws.send_json({"type": "auth", "token": token_of(ZHANG_PANEL)})
        assert (await voice_run(ws))[-1]["type"] == "run-end"

    for ws in opened:
        events, code = await until_closed(ws)
        assert codes(events) == ["auth_timeout"] and code == CLOSE_POLICY
    await eventually(lambda: limits.pending.held() == 0 and limits.open.held() == 0)
    legitimate = {token_of(ZHANG), token_of(LI), token_of(ZHANG_PANEL)}
    assert set(lookups.tokens) == legitimate, "the unauthenticated sockets cost no token lookup"
    async with client.ws_connect("/api/v1/voice", headers=ATTACKER) as ws:  # the next one from there
        await ws.send_json({"type": "auth", "token": token_of(ZHANG)})
        assert codes(await voice_run(ws)) == []


async def test_an_unauthenticated_socket_may_send_nothing_but_its_token(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), gateway=WS)
    for first in ({"type": "end"}, b"\x00\x00" * 1600, {"type": "auth", "token": "forged"}):
        async with client.ws_connect("/api/v1/voice") as ws:
            await (ws.send_bytes(first) if isinstance(first, bytes) else ws.send_json(first))
            events, code = await until_closed(ws)
        assert codes(events) in (["not_authenticated"], ["invalid_token"]) and code == CLOSE_POLICY
    await eventually(lambda: client.app[VOICE].pending.held() == 0)


async def test_voice_sockets_per_device_and_per_process_are_capped(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好"]), tts=FakeTts())
    client = await make_client(
        aiohttp_client, demo_db, FakeDialogue(), speech=speech, gateway={**WS, "ws_per_token": 2, "ws_max": 3}
    )
    first = await client.ws_connect("/api/v1/voice", headers=ZHANG)
    second = await client.ws_connect("/api/v1/voice", headers=ZHANG)
    with pytest.raises(aiohttp.WSServerHandshakeError) as too_many:
        await client.ws_connect("/api/v1/voice", headers=ZHANG)
    assert too_many.value.status == 429
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    resp = await client.get("/api/v1/voice", headers={**ZHANG, **upgrade})  # the refusal's body
    assert await error_of(resp) == (429, "too_many_connections")
    async with client.ws_connect("/api/v1/voice") as panel_style:  # the same device, token in a message
        await panel_style.send_json({"type": "auth", "token": token_of(ZHANG)})
        events, code = await until_closed(panel_style)
    assert codes(events) == ["too_many_connections"] and code == CLOSE_POLICY
    third = await client.ws_connect("/api/v1/voice", headers=LI)
    with pytest.raises(aiohttp.WSServerHandshakeError) as full:
        await client.ws_connect("/api/v1/voice", headers=ZHANG_PANEL)
    assert full.value.status == 503
    await first.close()
    await eventually(lambda: client.app[VOICE].open.held() == 2)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as again:
        assert codes(await voice_run(again)) == []
    await second.close()
    await third.close()


async def test_pings_do_not_keep_an_idle_socket_open(aiohttp_client: Any, demo_db: Engine) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), gateway={"ws_idle_timeout_s": 0.5})
    async with client.ws_connect("/api/v1/voice", headers=ZHANG, autoping=False) as ws:

        async def ping() -> None:
            while not ws.closed:
                await ws.ping()
                await asyncio.sleep(0.1)

        pinging = asyncio.create_task(ping())
        events, _ = await until_closed(ws)
        pinging.cancel()
    assert codes(events) == ["idle_timeout"]


async def test_a_run_that_trickles_audio_past_its_wall_clock_limit_ends_and_the_next_run_works(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    dialogue = FakeDialogue()
    stt = FakeStt(["你好"])
    speech = Speech(SpeechSettings(), stt=stt, tts=FakeTts())
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=speech, gateway={"ws_max_run_s": 1, "ws_idle_timeout_s": 5}
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_json({"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16"})
        received: list[dict[str, Any]] = []

        async def trickle() -> None:
            while True:
                await ws.send_bytes(bytes(320))  # 10 ms of silence every 100 ms: never idle, never done
                await asyncio.sleep(0.1)

        sending = asyncio.create_task(trickle())
        while not received or received[-1]["type"] != "run-end":
            msg = await asyncio.wait_for(ws.receive(), GUARD_S)
            if msg.type == aiohttp.WSMsgType.TEXT:
                received.append(json.loads(msg.data))
        sending.cancel()
        assert codes(received) == ["run_too_long"] and received[-1]["data"] == {}
        assert dialogue.calls == [] and stt.grammars == [], "silence took no recogniser"
        await ws.send_json({"type": "barrier"})  # frames still in flight were refused before its error
        while codes(received)[-1:] != ["bad_message"]:
            received.append(json.loads((await asyncio.wait_for(ws.receive(), GUARD_S)).data))
        assert codes(await voice_run(ws)) == [], "the socket stays open for the next run"
    assert [t for _, t in dialogue.calls] == ["你好"]


async def test_waiting_for_the_wake_phrase_has_its_own_wall_clock_limit(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    speech = Speech(SpeechSettings(), stt=FakeStt([]), tts=FakeTts())
    client = await make_client(
        aiohttp_client,
        demo_db,
        FakeDialogue(),
        speech=speech,
        gateway={"ws_max_wake_s": 1, "ws_max_run_s": 60},
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await ws.send_json({"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16", "wake": True})
        received: list[dict[str, Any]] = []

        async def trickle() -> None:
            while True:
                await ws.send_bytes(bytes(3200))  # silence: no wake phrase, ever
                await asyncio.sleep(0.1)

        sending = asyncio.create_task(trickle())
        while not received or received[-1]["type"] != "run-end":
            msg = await asyncio.wait_for(ws.receive(), GUARD_S)
            if msg.type == aiohttp.WSMsgType.TEXT:
                received.append(json.loads(msg.data))
        sending.cancel()
    assert codes(received) == ["run_too_long"]


class FloodTts(FakeTts):
    """An answer of 25 MB: 400 WAV chunks of two seconds each."""

    def synthesize_stream(self, text: str, pace: float = 1.0) -> Iterator[bytes]:
        self.said.append(text)
        chunk = silence_wav(2.0)
        return iter([chunk] * 400)


async def test_a_slow_reader_is_closed_and_the_next_connection_works(
    aiohttp_client: Any, demo_db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.gateway.voice_routes")
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好", "冰箱呢"]), tts=FloodTts())
    limits = {"ws_send_buffer_bytes": 256 * 1024, "ws_send_timeout_s": 1}
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech, gateway=limits)
    slow = await client.ws_connect("/api/v1/voice", headers=ZHANG)
    await slow.send_json(
        {"type": "start", "sample_rate": SAMPLE_RATE, "format": "pcm16", "turn_id": "slow-1"}
    )
    pcm = spoken_pcm()
    for i in range(0, len(pcm), 3200):
        await slow.send_bytes(pcm[i : i + 3200])
    await slow.send_json({"type": "end"})  # ... and it never reads what comes back
    await eventually(lambda: client.app[VOICE].open.held() == 0)
    assert "slow consumer" in caplog.text
    assert [t for _, t in dialogue.calls] == ["你好"], "the turn ran and is recorded in full"
    assert turns(demo_db) == 1
    kinds: list[Any] = []
    while not slow.closed:  # what it still gets: what its buffers held, then the end
        msg = await asyncio.wait_for(slow.receive(), GUARD_S)
        kinds.append(msg.type)
    assert kinds[-1] in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    speech.tts = FakeTts()
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await voice_run(ws)
    assert codes(run) == [] and "tts-end" in [e["type"] for e in run if isinstance(e, dict)]
    assert await text_turn(client, LI) == 200


# --- small cases ----------------------------------------------------------------------------------

SUPERSCRIPT_TWO = "²"
"""``"²".isdigit()`` is True and ``int("²")`` raises: every number from outside is ASCII digits."""


async def test_non_ascii_digits_are_refused_with_4xx_wherever_a_number_comes_in(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue())
    for raw in (SUPERSCRIPT_TWO, "١٢", "１２"):
        resp = await client.get(f"/api/v1/me/events?after={raw}", headers=ZHANG)
        assert await error_of(resp) == (400, "bad_event_id")
        resp = await client.post("/api/v1/pair", json={"code": raw * 6})
        assert await error_of(resp) == (400, "bad_pairing_code")
        with pytest.raises(AuthError) as refused:  # a partner's signature header (was a 500)
            signing.verify("secret", f"t={raw},v1=00", b"{}", 0.0)
        assert refused.value.code == "signature_missing"
    assert await text_turn(client, ZHANG) == 200


def test_numbers_inside_the_product_take_ascii_digits_only() -> None:
    from bot.offers.points_redemption import points_price
    from bot.studio.cases import field_of

    assert field_of({"scopes": ["a", "b"]}, f"scopes.{SUPERSCRIPT_TWO}") is None
    assert field_of({"scopes": ["a", "b"]}, "scopes.1") == "b"

    class Offer:
        def __init__(self, price: object) -> None:
            self.terms = {"points_price": price}

    class OneOffer:
        def __init__(self, price: object) -> None:
            self.offer = Offer(price)

        def get(self, _kind: object, _id: object) -> Offer:
            return self.offer

    row: Any = type("Row", (), {"offer_id": 1})()
    assert [points_price(OneOffer(p), row) for p in ("300", 300, SUPERSCRIPT_TWO, "0", None)] == [  # type: ignore[arg-type]
        300,
        300,
        None,
        None,
        None,
    ]
