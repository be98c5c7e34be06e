"""Turns into the dialogue a few at a time, waiting households served in turn (``HouseholdGate``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.dialogue import Reply
from bot.conversation.fairness import HouseholdGate
from bot.conversation.turns import TurnRequest, TurnRunner
from bot.errors import ConfigError
from bot.gateway.app import create_app
from bot.gateway.settings import GatewaySettings
from bot.store.db import session_scope
from bot.store.repo import authenticate
from tests.fakes import FakeDialogue
from tests.gateway_kit import LI, ZHANG, ZHANG_PANEL, no_speech


class Recorder:
    """Turns that hold a gate slot until released, recording the order they got in."""

    def __init__(self, gate: HouseholdGate) -> None:
        self.gate = gate
        self.admitted: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.most = 0

    async def turn(self, household: int, name: str) -> None:
        self.release[name] = asyncio.Event()
        async with self.gate.turn(household):
            self.admitted.append(name)
            self.most = max(self.most, self.gate.busy)
            await self.release[name].wait()

    async def finish(self, name: str) -> None:
        self.release[name].set()
        for _ in range(5):
            await asyncio.sleep(0)


async def started(recorder: Recorder, household: int, names: list[str]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.ensure_future(recorder.turn(household, name)) for name in names]
    await asyncio.sleep(0)
    return tasks


async def test_a_burst_of_one_household_does_not_go_ahead_of_another_households_turn() -> None:
    recorder = Recorder(HouseholdGate(2))
    tasks = await started(recorder, 1, ["a1", "a2", "a3", "a4", "a5"])
    tasks += await started(recorder, 2, ["b1"])
    assert recorder.admitted == ["a1", "a2"]
    for name in ["a1", "a2", "a3", "b1", "a4", "a5"]:
        await recorder.finish(name)
    await asyncio.gather(*tasks)
    assert recorder.admitted == ["a1", "a2", "a3", "b1", "a4", "a5"], "b1 waits for one turn of the burst"
    assert recorder.most == 2
    assert recorder.gate.busy == 0 and recorder.gate.waiting == 0


async def test_a_household_holds_at_most_its_share_and_others_find_a_slot_free() -> None:
    recorder = Recorder(HouseholdGate(4, per_household=2))
    tasks = await started(recorder, 1, ["a1", "a2", "a3", "a4"])
    tasks += await started(recorder, 2, ["b1"])
    tasks += await started(recorder, 3, ["c1", "c2", "c3"])
    assert recorder.admitted == ["a1", "a2", "b1", "c1"], "b1 did not wait for the burst of household 1"
    assert recorder.gate.waiting == 4
    await recorder.finish("b1")  # a slot free, but households 1 and 3 hold their share
    assert recorder.admitted == ["a1", "a2", "b1", "c1", "c2"], "household 3 was next in turn and may take it"
    tasks += await started(recorder, 2, ["b2"])  # a free slot? no: all four are taken
    assert recorder.gate.busy == 4 and recorder.admitted[-1] == "c2"
    for name in ["a1", "c1", "a2", "b2", "c2", "a3", "c3", "a4"]:
        await recorder.finish(name)
    await asyncio.gather(*tasks)
    assert recorder.admitted == ["a1", "a2", "b1", "c1", "c2", "a3", "c3", "b2", "a4"], (
        "in the order households waited"
    )
    assert recorder.most == 4
    assert recorder.gate.busy == 0 and recorder.gate.waiting == 0


async def test_a_household_below_its_share_takes_a_free_slot_while_others_wait_for_their_own() -> None:
    recorder = Recorder(HouseholdGate(3, per_household=1))
    tasks = await started(recorder, 1, ["a1", "a2"])
    tasks += await started(recorder, 2, ["b1"])
    assert recorder.admitted == ["a1", "b1"] and recorder.gate.waiting == 1
    tasks += await started(recorder, 3, ["c1"])
    assert recorder.admitted == ["a1", "b1", "c1"], "a2 waits for a1, not for a slot"
    await recorder.finish("b1")
    assert recorder.admitted[-1] == "c1", "the freed slot is not household 1's to take"
    for name in ["a1", "c1", "a2"]:
        await recorder.finish(name)
    await asyncio.gather(*tasks)
    assert recorder.admitted == ["a1", "b1", "c1", "a2"]
    assert recorder.gate.busy == 0 and recorder.gate.waiting == 0


async def test_households_take_turns_in_the_order_they_started_waiting() -> None:
    recorder = Recorder(HouseholdGate(1))
    tasks = await started(recorder, 1, ["a1", "a2", "a3"])
    tasks += await started(recorder, 2, ["b1", "b2"])
    tasks += await started(recorder, 3, ["c1"])
    for name in ["a1", "a2", "b1", "c1", "a3", "b2"]:
        await recorder.finish(name)
    await asyncio.gather(*tasks)
    assert recorder.admitted == ["a1", "a2", "b1", "c1", "a3", "b2"]


async def test_a_turn_given_up_while_waiting_or_just_admitted_keeps_no_slot() -> None:
    recorder = Recorder(HouseholdGate(1))
    first = await started(recorder, 1, ["a1"])
    waiting = await started(recorder, 2, ["b1"])
    later = await started(recorder, 3, ["c1"])
    waiting[0].cancel()  # the client went away while waiting
    await asyncio.sleep(0)
    assert recorder.gate.waiting == 1
    await recorder.finish("a1")
    assert recorder.admitted == ["a1", "c1"]
    admitted_then_cancelled = await started(recorder, 4, ["d1"])
    await recorder.finish("c1")  # d1 is handed the slot …
    admitted_then_cancelled[0].cancel()  # … and gives up before or while using it
    await asyncio.gather(*first, *later, *admitted_then_cancelled, *waiting, return_exceptions=True)
    await asyncio.sleep(0)
    assert recorder.gate.busy == 0 and recorder.gate.waiting == 0
    tail = await started(recorder, 5, ["e1"])
    assert recorder.admitted[-1] == "e1", "the slot was not lost"
    await recorder.finish("e1")
    await asyncio.gather(*tail)


async def test_a_waiter_cancelled_in_the_moment_it_is_handed_the_slot_passes_it_on() -> None:
    gate = HouseholdGate(1)
    holder = gate.turn(1)
    await holder.__aenter__()
    entered: list[int] = []

    async def wait_for(household: int) -> None:
        async with gate.turn(household):
            entered.append(household)

    handed, next_in_line = asyncio.ensure_future(wait_for(2)), asyncio.ensure_future(wait_for(3))
    await asyncio.sleep(0)
    await holder.__aexit__(None, None, None)  # the slot goes to household 2 …
    handed.cancel()  # … which gives up before it could run
    await asyncio.gather(handed, next_in_line, return_exceptions=True)
    assert entered == [3] and gate.busy == 0 and gate.waiting == 0


async def test_no_limit_with_zero_slots() -> None:
    recorder = Recorder(HouseholdGate(0))
    tasks = await started(recorder, 1, ["a1", "a2", "a3", "a4"])
    assert recorder.admitted == ["a1", "a2", "a3", "a4"]
    for name in ["a1", "a2", "a3", "a4"]:
        await recorder.finish(name)
    await asyncio.gather(*tasks)


@pytest.mark.parametrize("name", ["turn_slots", "household_turn_slots"])
def test_negative_slots_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        GatewaySettings.from_config(Config(extra={"gateway": {name: -1}}))


async def test_the_gateway_lets_turn_slots_turns_into_the_dialogue_at_once(
    aiohttp_client: Any, tmp_path: Path, demo_db: Engine
) -> None:
    config = Config(var_dir=tmp_path, extra={"gateway": {"turn_slots": 2, "read_dialogue_state": False}})
    dialogue = FakeDialogue(delay_s=0.05)
    client = await aiohttp_client(create_app(config, engine=demo_db, dialogue=dialogue, speech=no_speech()))
    replies = await asyncio.gather(
        *[client.post("/api/v1/converse", json={"text": "你好"}, headers=h) for h in (ZHANG, ZHANG_PANEL, LI)]
    )
    assert [r.status for r in replies] == [200, 200, 200]
    assert dialogue.max_active == 2 and len(dialogue.calls) == 3


def test_a_turn_holds_its_slot_only_for_the_dialogue_not_for_its_database_work(
    demo_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding the conversation and recording the turn (database work, in a thread) happen outside
    the slot, so another household's turn can be in the dialogue meanwhile."""
    gate = HouseholdGate(1)
    seen: list[tuple[str, int]] = []

    class Watching(FakeDialogue):
        async def respond(self, sender: str, text: str) -> list[Reply]:
            seen.append(("respond", gate.busy))
            return await super().respond(sender, text)

    runner = TurnRunner(demo_db, Watching(), timedelta(minutes=30), gate=gate)

    def watch(name: str) -> None:
        step = getattr(runner, name)

        def watched(*args: Any) -> Any:
            seen.append((name, gate.busy))
            return step(*args)

        monkeypatch.setattr(runner, name, watched)

    watch("_conversation")
    watch("_finish")
    with session_scope(demo_db) as session:
        device = authenticate(session, "demo-zhang-speaker").device()
    outcome = asyncio.run(runner.run(TurnRequest(device, "你好", "t-slot")))
    assert outcome["replies"][0]["text"] == "echo:你好"
    assert seen == [("_conversation", 0), ("respond", 1), ("_finish", 0)]
