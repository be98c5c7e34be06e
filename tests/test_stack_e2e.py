"""End to end through the real processes: gateway → Rasa server (trained model) → action server → DB."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import load_config
from bot.periods import resolve
from bot.seed.demo import DEMO_TENANT_ID
from bot.stack.supervisor import group_members
from bot.store.db import make_engine, utcnow
from bot.store.models import Device, EnergyReading, Household, Tenant
from bot.testing.harness import RunningStack, alive, make_stack, operator_health

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("stack"))
    running.start()
    yield running
    running.stop()


def db_sum(db_url: str, household: str, category: str, period_key: str) -> Decimal:
    """Independent check: the sum of the stored readings for the household's devices of a category."""
    engine = make_engine(db_url)
    with Session(engine) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        assert tenant is not None
        period = resolve(period_key, utcnow(), tenant.timezone)
        rows = session.exec(
            select(EnergyReading.kwh)
            .join(Device)
            .join(Household)
            .where(
                Household.name == household,
                Device.category == category,
                EnergyReading.start >= period.start,
                EnergyReading.start < period.end,
            )
        ).all()
    engine.dispose()
    return sum(rows, Decimal(0))


def test_energy_question_is_answered_from_the_households_own_readings(stack: RunningStack) -> None:
    status, body = stack.converse("demo-zhang-speaker", "我家空调这个月用了多少度电")
    assert status == 200, body
    reply = body["replies"][0]
    card = reply["card"]
    expected = db_sum(stack.db_url, "张家", "空调", "this_month")
    assert card["type"] == "energy_usage" and card["device_type"] == "空调"
    assert card["period"] == "this_month"
    assert Decimal(card["kwh"]) == expected
    spoken = str(expected.quantize(Decimal("0.1")))
    assert spoken in reply["text"] and "度" in reply["text"]
    assert card["cost"] in reply["text"]


def test_each_household_hears_its_own_figures(stack: RunningStack) -> None:
    _, zhang = stack.converse("demo-zhang-speaker", "冰箱上个月用了多少电")
    _, li = stack.converse("demo-li-speaker", "冰箱上个月用了多少电")
    assert Decimal(zhang["replies"][0]["card"]["kwh"]) == db_sum(stack.db_url, "张家", "冰箱", "last_month")
    assert Decimal(li["replies"][0]["card"]["kwh"]) == db_sum(stack.db_url, "李家", "冰箱", "last_month")


def test_recogniser_style_spaced_text_gets_the_same_answer(stack: RunningStack) -> None:
    _, typed = stack.converse("demo-zhang-panel", "热水器上个月用了多少电")
    _, spoken = stack.converse("demo-zhang-panel", "热水器 上个 月 用了 多少 电")
    assert spoken["replies"][0]["card"]["kwh"] == typed["replies"][0]["card"]["kwh"]


def test_greeting_uses_the_tenants_assistant_name_and_out_of_scope_is_declined(
    stack: RunningStack,
) -> None:
    _, hello = stack.converse("demo-li-speaker", "你好")
    assert hello["replies"][0]["card"] is None
    assert hello["replies"][0]["text"]
    _, weather = stack.converse("demo-li-speaker", "今天天气怎么样")
    assert "用电" in weather["replies"][0]["text"]


def test_a_device_the_home_lacks_is_said_plainly(stack: RunningStack) -> None:
    _, body = stack.converse("demo-li-speaker", "新风机这个月用了多少电")
    assert "新风机" in body["replies"][0]["text"] and body["replies"][0]["card"] is None


def test_bot_chat_talks_to_the_running_gateway(stack: RunningStack) -> None:
    result = stack.bot("chat", "--token", "demo-zhang-speaker", "我家空调这个月用了多少度电")
    assert result.returncode == 0, result.stderr
    expected = db_sum(stack.db_url, "张家", "空调", "this_month")
    assert f"kwh={expected}" in result.stdout
    bad = stack.bot("chat", "--token", "nope", "你好")
    assert bad.returncode == 2 and "invalid_token" in bad.stderr


def test_health_lists_every_component_and_the_text_path_is_green(stack: RunningStack) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(operator_health(stack.url), timeout=5) as resp:
        body = json.loads(resp.read())
    components = body["components"]
    assert {"database", "rasa", "actions", "stt", "tts"} <= set(components)
    assert all(components[name]["ok"] for name in ("database", "rasa", "actions"))
    assert components["rasa"]["model"].startswith("skill-")
    speech_ok = components["stt"]["ok"] and components["tts"]["ok"]
    assert body["status"] == ("ok" if speech_ok else "degraded")


def test_a_busy_port_is_named_in_a_clear_error(tmp_path: Path) -> None:
    other = make_stack(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(other.env["BOT_RASA_PORT"])))
        blocker.listen()
        result = other.bot("up", timeout=60)
    assert result.returncode == 2
    assert f"port {other.env['BOT_RASA_PORT']} (Rasa server) is already in use" in result.stderr


def test_stopping_leaves_no_process_behind(stack: RunningStack) -> None:
    children = stack.children()
    assert len(children) == 2, "Rasa server and action server"
    assert stack.stop(signal.SIGTERM) == 0
    for pid in children:
        assert not alive(pid), f"process {pid} survived"
        assert group_members(pid) == [], f"a process started by {pid} survived"
    assert "all components stopped" in stack.log.read_text()
    assert load_config(env=stack.env).port == stack.port
