"""Supervision of ``bot up``'s children with real processes: restart with back-off, then give up."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.config import Config
from bot.gateway.infra_health import InfraHealth, infra_components
from bot.stack.supervisor import Component, GaveUp, Supervisor, backoff_s
from bot.stack.up import Stack
from bot.testing.harness import alive, free_port


def crasher(tmp_path: Path, lives: int) -> Component:
    """A process that records each start and exits 3, except after ``lives`` starts it stays up."""
    starts = tmp_path / "starts"
    script = (
        "import pathlib, sys, time\n"
        f"p = pathlib.Path({str(starts)!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n"
        f"sys.exit(3) if len(p.read_text()) <= {lives} else time.sleep(60)\n"
    )
    return Component("crasher", [sys.executable, "-c", script], {}, None, tmp_path / "crasher.log")


def test_backoff_doubles_up_to_a_ceiling() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_a_dead_component_is_restarted_and_keeps_running(tmp_path: Path) -> None:
    said: list[str] = []
    sup = Supervisor(tmp_path, said.append, max_restarts=5, backoff_first_s=0.01)
    comp = crasher(tmp_path, lives=2)
    await sup.spawn(comp)
    keeper = asyncio.ensure_future(sup.supervise(comp))
    for _ in range(200):
        if (tmp_path / "starts").exists() and len((tmp_path / "starts").read_text()) == 3:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert not keeper.done() and alive(sup.procs["crasher"].pid), "third start stays up"
    assert sum("restarting" in line for line in said) == 2 and "code 3" in said[0]
    keeper.cancel()
    await sup.stop()
    assert not sup.procs


async def test_a_component_that_keeps_crashing_makes_the_supervisor_give_up(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, lambda _: None, max_restarts=2, backoff_first_s=0.01)
    comp = crasher(tmp_path, lives=100)
    await sup.spawn(comp)
    with pytest.raises(GaveUp, match="crasher exited 3 times"):
        await asyncio.wait_for(sup.supervise(comp), 30)
    await sup.stop()


async def test_health_of_services_requires_tracker_and_lock_store_but_not_the_broker() -> None:
    closed = free_port()
    config = Config(
        tracker_store_url=f"postgresql://u:secret@127.0.0.1:{closed}/t",
        lock_store_url=f"redis://:secret@127.0.0.1:{closed}/1",
        event_broker_url=f"amqp://u:secret@127.0.0.1:{closed}/%2F",
    )
    report, required = await infra_components(InfraHealth(config))
    assert set(report) == {"tracker_store", "lock_store", "event_broker"}
    assert not any(entry["ok"] for entry in report.values())
    assert sorted(required) == ["lock_store", "tracker_store"]
    assert report["event_broker"]["required"] is False
    assert "secret" not in repr(report)


async def test_no_service_is_listed_in_the_embedded_profile() -> None:
    assert await infra_components(InfraHealth(Config())) == ({}, [])


async def test_bot_up_exits_1_when_a_component_keeps_crashing_and_0_when_stopped(tmp_path: Path) -> None:
    said: list[str] = []
    stack = Stack(Config(var_dir=tmp_path), said.append)
    stack._supervisor = Supervisor(tmp_path, said.append, max_restarts=1, backoff_first_s=0.01)
    stack._comps = [crasher(tmp_path, lives=100)]
    await stack._supervisor.spawn(stack._comps[0])
    assert await asyncio.wait_for(stack.wait(asyncio.Event()), 30) == 1
    assert "giving up" in said[-1]
    await stack.stop()

    calm = Stack(Config(var_dir=tmp_path), said.append)
    calm._comps = [crasher(tmp_path / "calm", lives=0)]
    (tmp_path / "calm").mkdir()
    await calm._supervisor.spawn(calm._comps[0])
    stop = asyncio.Event()
    stop.set()
    assert await calm.wait(stop) == 0
    await calm.stop()
    assert not calm.procs
