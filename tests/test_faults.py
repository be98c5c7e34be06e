"""Faults end in a short apology, an ``error`` event, a red ``/healthz`` component and no half-done state.

Each fault is injected into a real stack (``bot up``: Rasa, action server, gateway) from outside: the
action server frozen (SIGSTOP, so it is slower than any timeout) or killed, Rasa killed mid-turn,
SQLite locked by another writer or refusing writes (as a full disk does), and — on the production
profile — PostgreSQL, Redis and RabbitMQ cut behind a TCP proxy. For each: the user gets HTTP 503
with a short Chinese apology and one ``error`` event, ``/healthz`` names the failing component, the
invariant checker finds nothing, and once the fault is lifted the next turn is answered. The broker
is the exception: turns keep working while it is down.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.store.db import make_engine
from bot.testing.harness import RunningStack, make_stack, operator_health
from tests.fault_kit import DISK_FULL_TRIGGER, assert_apology
from tests.fault_proxy import ThreadedProxy
from tests.scale_kit import PG_PORT, SERVICES, pg_url, production_profile, require_services

ZHANG_TOKEN = "demo-zhang-speaker"
LI_TOKEN = "demo-li-speaker"
USAGE = "我家空调这个月用了多少电"
RECOVERY_S = 120.0
AFTER_RECOVERY_TURNS = 4


def turn(stack: RunningStack, token: str = ZHANG_TOKEN, utterance: str = USAGE) -> tuple[int, dict[str, Any]]:
    """One text turn with a fresh turn id (so its outcome, if any, is stored and checked)."""
    try:
        return stack.converse(token, utterance, turn_id=f"fault-{uuid.uuid4().hex[:12]}")
    except (urllib.error.URLError, OSError) as err:
        pytest.fail(f"gateway of the stack at {stack.url} did not answer: {err}", pytrace=False)


def health(stack: RunningStack) -> tuple[int, dict[str, Any]]:
    """Status and body of ``/healthz``."""
    try:
        with urllib.request.urlopen(operator_health(stack.url), timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def red(stack: RunningStack, component: str) -> dict[str, Any]:
    """The health body, after asserting ``component`` is reported down (within the ~1 s for which
    ``/healthz`` serves one cached report)."""
    deadline = time.monotonic() + 3
    while True:
        _, body = health(stack)
        if body["components"].get(component, {}).get("ok") is False or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert body["components"].get(component, {}).get("ok") is False, body
    return body


def assert_invariants_hold(stack: RunningStack) -> None:
    """``bot invariants --json`` over the stack's database reports nothing."""
    result = stack.bot("invariants", "--json")
    assert result.returncode == 0, result.stdout + result.stderr


def recovered(stack: RunningStack, token: str = ZHANG_TOKEN) -> dict[str, Any]:
    """Wait until ``/healthz`` is green again, then the next turn must be answered."""
    deadline = time.monotonic() + RECOVERY_S
    while time.monotonic() < deadline:
        if stack.proc is not None and stack.proc.poll() is not None:
            pytest.fail(f"`bot up` exited ({stack.proc.returncode}) instead of recovering; see {stack.log}")
        try:
            status, body = health(stack)
        except (urllib.error.URLError, OSError):
            status, body = 0, {}
        if status == 200:
            break
        time.sleep(1)
    else:
        pytest.fail(f"stack not healthy {RECOVERY_S:.0f} s after the fault was lifted: {body}", pytrace=False)
    for _ in range(AFTER_RECOVERY_TURNS):  # several: each gateway worker must have recovered
        status, answer = turn(stack, token)
        assert status == 200 and answer["replies"], answer
    return answer


def component_pid(stack: RunningStack, marker: str) -> int:
    """Pid of the child of ``bot up`` whose command line contains ``marker``."""
    for pid in stack.children():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            return pid
    pytest.fail(f"no `{marker}` process under bot up (pid {stack.proc.pid if stack.proc else '?'})")


def in_background(work: Callable[[], tuple[int, dict[str, Any]]]) -> Callable[[], tuple[int, dict[str, Any]]]:
    """Start ``work`` on a thread; the returned function waits for its result."""
    out: list[tuple[int, dict[str, Any]]] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()

    def result() -> tuple[int, dict[str, Any]]:
        thread.join(120)
        assert out, "the turn in flight never got a response"
        return out[0]

    return result


# --- embedded profile (SQLite) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One demo stack for the SQLite faults; turns time out after 8 s."""
    running = make_stack(tmp_path_factory.mktemp("faults"), {"BOT_TURN_TIMEOUT_S": "8"})
    running.start()
    try:
        yield running
    finally:
        running.stop()


def sqlite_path(stack: RunningStack) -> str:
    return stack.db_url.split("///", 1)[1]


@pytest.mark.scale
def test_action_server_slower_than_the_turn_timeout(stack: RunningStack) -> None:
    assert turn(stack)[0] == 200
    actions = component_pid(stack, "rasa_sdk")
    os.killpg(actions, signal.SIGSTOP)  # it accepts connections and never answers
    try:
        assert_apology(*turn(stack))
        red(stack, "actions")
        assert_invariants_hold(stack)
    finally:
        os.killpg(actions, signal.SIGCONT)
    recovered(stack)
    assert_invariants_hold(stack)


@pytest.mark.scale
def test_database_locked_by_another_writer(stack: RunningStack) -> None:
    holder = sqlite3.connect(sqlite_path(stack), timeout=30, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert_apology(*turn(stack))
        red(stack, "database")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_invariants_hold(stack)
    recovered(stack)


@pytest.mark.scale
def test_disk_full(stack: RunningStack) -> None:
    engine = make_engine(stack.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(DISK_FULL_TRIGGER))
        try:
            assert_apology(*turn(stack))
            red(stack, "database")
        finally:
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER disk_full"))
    finally:
        engine.dispose()
    assert_invariants_hold(stack)
    recovered(stack)


@pytest.mark.scale
def test_action_server_killed(stack: RunningStack) -> None:
    os.killpg(component_pid(stack, "rasa_sdk"), signal.SIGKILL)
    status, body = turn(stack)
    assert_apology(status, body)
    assert_invariants_hold(stack)
    recovered(stack)


@pytest.mark.scale
def test_rasa_restarted_mid_turn(stack: RunningStack) -> None:
    actions = component_pid(stack, "rasa_sdk")
    os.killpg(actions, signal.SIGSTOP)  # hold the turn inside Rasa while Rasa is killed
    try:
        pending = in_background(lambda: turn(stack, LI_TOKEN))
        time.sleep(2)
        os.killpg(component_pid(stack, " run --model"), signal.SIGKILL)
    finally:
        os.killpg(actions, signal.SIGCONT)
    assert_apology(*pending())
    red(stack, "rasa")
    recovered(stack, LI_TOKEN)
    assert_invariants_hold(stack)


# --- production profile: PostgreSQL, Redis and RabbitMQ behind proxies ------------------------


@pytest.fixture(scope="module")
def proxied(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningStack, dict[str, ThreadedProxy]]]:
    """A production-profile stack whose app database, lock store and broker are reached through proxies."""
    require_services("postgresql", "redis", "rabbitmq")
    proxies = {name: ThreadedProxy(*SERVICES[name]).start() for name in ("postgresql", "redis", "rabbitmq")}
    try:
        with production_profile() as prof:
            env = prof.env() | {
                "BOT_DATABASE_URL": pg_url(prof.app_db).replace(
                    f":{PG_PORT}/", f":{proxies['postgresql'].port}/"
                ),
                "BOT_LOCK_STORE_URL": f"redis://127.0.0.1:{proxies['redis'].port}/1",
                "BOT_EVENT_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{proxies['rabbitmq'].port}/%2F",
                "BOT_TURN_TIMEOUT_S": "8",
            }
            running = make_stack(tmp_path_factory.mktemp("prod-faults"), env)
            running.start()
            try:
                yield running, proxies
            finally:
                running.stop()
    finally:
        for proxy in proxies.values():
            proxy.stop()


@pytest.mark.scale
def test_database_down(proxied: tuple[RunningStack, dict[str, ThreadedProxy]]) -> None:
    stack, proxies = proxied
    assert turn(stack)[0] == 200
    health(stack)  # the operator looked before: their token is remembered while the database is down
    proxies["postgresql"].cut()
    try:
        assert_apology(*turn(stack))
        red(stack, "database")
    finally:
        proxies["postgresql"].restore()
    recovered(stack)
    assert_invariants_hold(stack)


@pytest.mark.scale
def test_redis_down(proxied: tuple[RunningStack, dict[str, ThreadedProxy]]) -> None:
    stack, proxies = proxied
    proxies["redis"].cut()
    try:
        assert_apology(*turn(stack))
        red(stack, "lock_store")
    finally:
        proxies["redis"].restore()
    recovered(stack)
    assert_invariants_hold(stack)


@pytest.mark.scale
def test_broker_down_turns_keep_working(proxied: tuple[RunningStack, dict[str, ThreadedProxy]]) -> None:
    stack, proxies = proxied
    proxies["rabbitmq"].cut()
    try:
        status, body = turn(stack)
        assert status == 200 and body["replies"], body
        report = red(stack, "event_broker")
        assert report["status"] == "degraded", report
    finally:
        proxies["rabbitmq"].restore()
    recovered(stack)
    assert_invariants_hold(stack)
