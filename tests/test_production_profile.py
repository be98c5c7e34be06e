"""The production profile for real: PostgreSQL app DB + SQL tracker store, Redis locks, RabbitMQ broker,
two gateway workers and two action-server workers — selected by configuration only."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.stack.supervisor import group_members
from bot.testing.harness import RunningStack, free_port, make_stack, operator_health
from tests.fault_proxy import ThreadedProxy
from tests.scale_kit import (
    AMQP_URL,
    PG_HOST,
    PG_PORT,
    ProductionProfile,
    pg_rows,
    production_profile,
    production_stack,
)

pytestmark = pytest.mark.scale

ZHANG, LI = "demo-zhang-speaker", "demo-li-speaker"


@pytest.fixture(scope="module")
def tracker_proxy() -> Iterator[ThreadedProxy]:
    """The production stack reaches its tracker database through this proxy (outage test)."""
    with ThreadedProxy.running(PG_HOST, PG_PORT) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def prod(
    tmp_path_factory: pytest.TempPathFactory, tracker_proxy: ThreadedProxy
) -> Iterator[tuple[RunningStack, ProductionProfile]]:
    proxies = {"BOT_TRACKER_STORE_URL": tracker_proxy}
    with production_stack(tmp_path_factory.mktemp("prod"), proxies=proxies) as running:
        yield running


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child_running(stack: RunningStack, marker: str) -> int:
    pids = [pid for pid in stack.children() if marker in cmdline(pid)]
    assert len(pids) == 1, f"one child running {marker!r}: {pids}"
    return pids[0]


def health(stack: RunningStack) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(operator_health(stack.url), timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_health(stack: RunningStack, status: int, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = health(stack)
        if code == status:
            return body
        time.sleep(0.5)
    raise AssertionError(f"/healthz never answered {status}: {body}")


def test_turns_are_answered_and_trackers_land_in_postgresql(
    prod: tuple[RunningStack, ProductionProfile],
) -> None:
    stack, profile = prod
    status, body = stack.converse(LI, "冰箱上个月用了多少电")
    assert status == 200, body
    assert any(r["card"] and r["card"]["type"] == "energy_usage" for r in body["replies"])
    conversations = pg_rows(profile.app_db, "SELECT id FROM conversation")
    assert conversations, "the app database is the PostgreSQL one"
    senders = {row[0] for row in pg_rows(profile.tracker_db, "SELECT DISTINCT sender_id FROM events")}
    assert {c[0] for c in conversations} <= senders, "every conversation's tracker is in PostgreSQL"
    assert not [s for s in senders if str(s).startswith("bot-store-probe-")], "start-up probe cleaned up"


def test_health_lists_the_production_services_without_credentials(
    prod: tuple[RunningStack, ProductionProfile],
) -> None:
    stack, _ = prod
    code, body = health(stack)
    assert code == 200, body
    for name in ("tracker_store", "lock_store", "event_broker"):
        assert body["components"][name]["ok"], body
    assert "guest" not in json.dumps(body), "no credentials in /healthz"


def test_two_gateway_workers_and_two_action_workers_run(prod: tuple[RunningStack, ProductionProfile]) -> None:
    stack, _ = prod
    child_running(stack, "bot serve")
    actions = child_running(stack, "rasa_sdk")
    assert len(group_members(actions)) >= 3, "Sanic main process plus two action workers"


def test_rasa_publishes_tracker_events_to_rabbitmq(prod: tuple[RunningStack, ProductionProfile]) -> None:
    stack, profile = prod
    assert asyncio.run(_published_during(stack, profile)), f"no event via {profile.queue}.exchange"


async def _published_during(stack: RunningStack, profile: ProductionProfile) -> bool:
    """Bind a private queue to the stack's exchange (the analytics consumer drains the shared one)."""
    import aio_pika

    conn = await aio_pika.connect(AMQP_URL, timeout=5)
    async with conn:
        channel = await conn.channel()
        exchange = await channel.get_exchange(f"{profile.queue}.exchange")
        mine = await channel.declare_queue(exclusive=True, auto_delete=True)
        await mine.bind(exchange)
        status, _ = await asyncio.to_thread(stack.converse, ZHANG, "你好")
        assert status == 200
        for _ in range(60):
            message = await mine.get(fail=False)
            if message is not None:
                event = json.loads(message.body)
                return "event" in event and "sender_id" in event
            await asyncio.sleep(0.5)
    return False


def test_racing_the_same_turn_id_on_both_workers_yields_one_outcome(
    prod: tuple[RunningStack, ProductionProfile],
) -> None:
    stack, profile = prod
    results: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        results.append(stack.converse(ZHANG, "冰箱这个月用了多少电", turn_id="race-1"))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 6, results
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1, "one outcome for all"
    rows = pg_rows(profile.app_db, "SELECT count(*) FROM turn WHERE turn_key = %s", "race-1")
    assert rows == [(1,)]


def test_a_conversation_survives_a_rasa_crash(prod: tuple[RunningStack, ProductionProfile]) -> None:
    stack, _ = prod
    say = stack.converse
    assert "product_choice" in _cards(say(LI, "我想分期买个空调"))
    chosen = say(LI, "要格力的")
    assert chosen[0] == 200 and "installment_quote" not in _cards(chosen)
    rasa = child_running(stack, " run --model ")
    os.killpg(rasa, signal.SIGKILL)
    down = wait_health(stack, 503, timeout=30)
    assert not down["components"]["rasa"]["ok"]
    wait_health(stack, 200)
    quote = _cards(say(LI, "十二期"))
    assert quote["installment_quote"]["product"]["sku"] == "GREE-KFR35-YJ1", "the form resumed"
    assert child_running(stack, " run --model ") != rasa


def _cards(answer: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    status, body = answer
    assert status == 200, body
    return {r["card"]["type"]: r["card"] for r in body["replies"] if r["card"]}


def test_a_tracker_store_outage_is_refused_and_reported_not_answered_from_memory(
    prod: tuple[RunningStack, ProductionProfile], tracker_proxy: ThreadedProxy
) -> None:
    stack, _ = prod
    assert stack.converse(ZHANG, "你好")[0] == 200
    tracker_proxy.cut()
    try:
        status, body = stack.converse(ZHANG, "冰箱这个月用了多少电", turn_id="outage-1")
        assert status == 503 and body["error"]["code"] == "tracker_store_unavailable", body
        assert [e["type"] for e in body["events"]] == ["error"]
        # /healthz serves one report per ~1 s; the first 503 may name Rasa (waiting on the store) before
        # the store's own check has timed out, so wait for the store itself to be reported.
        deadline = time.monotonic() + 15
        report = wait_health(stack, 503, timeout=5)
        while report["components"]["tracker_store"]["ok"] and time.monotonic() < deadline:
            time.sleep(0.5)
            report = wait_health(stack, 503, timeout=5)
        assert not report["components"]["tracker_store"]["ok"], report
    finally:
        tracker_proxy.restore()
    wait_health(stack, 200, timeout=120)
    status, body = stack.converse(ZHANG, "冰箱这个月用了多少电", turn_id="outage-1")
    assert status == 200 and body["replies"], "the refused turn was not stored: the retry runs it"


def test_erasure_deletes_the_households_trackers_from_postgresql(
    prod: tuple[RunningStack, ProductionProfile],
) -> None:
    """「删除我的数据」 with Rasa's SQL tracker store: the household's rows of ``events`` are gone."""
    stack, profile = prod
    for token in (ZHANG, LI):
        assert stack.converse(token, "我家保险柜密码是紫色长颈鹿七号")[0] == 200

    def senders(name: str) -> set[object]:
        query = "SELECT c.id FROM conversation c JOIN household h ON h.id = c.household_id WHERE h.name = %s"
        return {row[0] for row in pg_rows(profile.app_db, query, name)}

    def tracker_rows(ids: set[object]) -> int:
        rows = pg_rows(profile.tracker_db, "SELECT sender_id FROM events")
        return sum(1 for row in rows if row[0] in ids)

    zhang, li = senders("张家"), senders("李家")
    assert tracker_rows(zhang) > 0 and tracker_rows(li) > 0
    req = urllib.request.Request(
        f"{stack.url}/api/v1/me/data", method="DELETE", headers={"Authorization": "Bearer demo-zhang-panel"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    assert body["trackers_erased"] == len(zhang)
    assert tracker_rows(zhang) == 0 and senders("张家") == set()
    assert tracker_rows(li) > 0, "another household's trackers stay"
    assert stack.converse(ZHANG, "你好")[0] == 200, "the household is still served"


def test_a_tracker_store_at_a_closed_port_stops_bot_up_clearly(tmp_path: Path) -> None:
    with production_profile() as profile:
        env = profile.env(gateway_workers=1, action_workers=1)
        closed = free_port()
        env["BOT_TRACKER_STORE_URL"] = f"postgresql://postgres:secret@127.0.0.1:{closed}/bot_tracker"
        stack = make_stack(tmp_path, env=env)
        with pytest.raises(RuntimeError, match="exited early") as failed:
            stack.start(timeout=120)
        message = str(failed.value)
        assert "tracker_store" in message and f"127.0.0.1:{closed}" in message
        assert "secret" not in message, "no password in the error"
        assert stack.proc is not None and stack.proc.returncode not in (0, None)
