"""Per-device turn locks: in-process and Redis-backed (real Redis for the shared ones)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.locks import DeviceLocks, LocalLocks, LockUnavailable, RedisLocks, make_locks
from bot.conversation.turns import TurnRequest, TurnRunner
from bot.gateway.app import create_app
from bot.store.repo import Principal
from bot.testing.harness import free_port
from tests.fakes import FakeDialogue
from tests.gateway_kit import OPERATOR, ZHANG, no_speech


async def overlap(locks_a: DeviceLocks, locks_b: DeviceLocks, device_a: int, device_b: int) -> bool:
    """True when two holders of the given locks ran at the same time."""
    running = 0
    overlapped = False

    async def hold(locks: DeviceLocks, device: int) -> None:
        nonlocal running, overlapped
        async with locks.hold(device):
            running += 1
            overlapped = overlapped or running > 1
            await asyncio.sleep(0.05)
            running -= 1

    await asyncio.gather(hold(locks_a, device_a), hold(locks_b, device_b))
    return overlapped


async def test_local_locks_serialise_one_device_and_not_two() -> None:
    locks = LocalLocks()
    assert not await overlap(locks, locks, 1, 1)
    assert await overlap(locks, locks, 1, 2)


def test_without_a_lock_store_the_locks_are_local() -> None:
    assert isinstance(make_locks("", "bot"), LocalLocks)


@pytest.mark.scale
async def test_redis_locks_serialise_one_device_across_workers() -> None:
    from tests.scale_kit import REDIS_URL, require_services

    require_services("redis")
    prefix = f"test{secrets.token_hex(4)}"
    worker_a, worker_b = RedisLocks(REDIS_URL, prefix), RedisLocks(REDIS_URL, prefix)
    try:
        assert not await overlap(worker_a, worker_b, 7, 7), "two workers, one device: one at a time"
        assert await overlap(worker_a, worker_b, 7, 8)
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_redis_down_refuses_the_turn_with_lock_unavailable() -> None:
    locks = RedisLocks(f"redis://127.0.0.1:{free_port()}/0", "bot")
    try:
        with pytest.raises(LockUnavailable) as err:
            async with locks.hold(1):
                pytest.fail("the block must not run without the lock")
    finally:
        await locks.close()
    assert err.value.status == 503 and err.value.code == "lock_unavailable"
    assert "抱歉" in err.value.message


async def test_turn_runner_asks_its_locks_before_touching_the_dialogue(engine: Engine) -> None:
    class Refusing(LocalLocks):
        @contextlib.asynccontextmanager
        async def hold(self, device_id: int) -> AsyncIterator[None]:
            raise LockUnavailable("抱歉，系统开小差了，请稍后再试。")
            yield

    dialogue = FakeDialogue()
    runner = TurnRunner(engine, dialogue, timedelta(minutes=30), locks=Refusing())
    principal = Principal("device", "acme", device_id=1, household_id=1)
    with pytest.raises(LockUnavailable):
        await runner.run(TurnRequest(principal.device(), "你好", "t-1"))
    assert dialogue.calls == [], "nothing half-done"


async def test_a_turn_with_redis_down_is_refused_with_an_apology_and_an_error_event(
    aiohttp_client: Any, tmp_path: Path, demo_db: Engine
) -> None:
    config = Config(
        var_dir=tmp_path,
        lock_store_url=f"redis://127.0.0.1:{free_port()}/0",
        extra={"gateway": {"health_cache_s": 0}},
    )
    dialogue = FakeDialogue()
    app = create_app(config, engine=demo_db, dialogue=dialogue, speech=no_speech())
    client = await aiohttp_client(app)
    resp = await client.post("/api/v1/converse", json={"text": "你好", "turn_id": "r-1"}, headers=ZHANG)
    body = await resp.json()
    assert resp.status == 503 and body["error"]["code"] == "lock_unavailable"
    assert [e["type"] for e in body["events"]] == ["error"] and "抱歉" in body["events"][0]["data"]["message"]
    assert dialogue.calls == [], "the turn never ran"
    health = await client.get("/healthz", headers=OPERATOR)
    report = await health.json()
    assert health.status == 503 and report["components"]["lock_store"]["ok"] is False
