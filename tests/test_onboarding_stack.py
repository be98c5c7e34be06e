"""A real home onboarded on the real stack (gateway → Rasa → action server → SQLite), demo mode off,
starting from an empty database: ``bot tenant create``, an admin token from the CLI, a household
with a speaker, a panel, a hub and an air conditioner by the admin API, all three paired, readings
through the hub, and the speaker's energy question answered from exactly those readings."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from bot.store.credentials import DEMO_TOKENS
from bot.store.db import make_engine
from bot.store.models import ApiToken
from bot.store.repo import hash_token
from bot.testing.harness import RunningStack, make_stack
from tests.test_panel_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.stack
CSV_HEAD = "device_id,interval_start,minutes,energy_wh\n"


def call(stack: RunningStack, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    """One JSON request to the gateway; (status, body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(f"{stack.url}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, str]]:
    """A stack with demo off on an empty database, a tenant created and an admin token issued by CLI."""
    stack = make_stack(Path(tmp_path_factory.mktemp("onboarding")), env={"BOT_DEMO": "false"})
    refused = stack.bot("seed", "--demo")
    assert refused.returncode == 2 and "演示模式" in refused.stderr
    created = stack.bot("tenant", "create", "acme", "--name", "安可电器", "--assistant-name", "小安")
    assert created.returncode == 0, created.stderr
    issued = stack.bot("tenant", "token", "issue", "--tenant", "acme", "--role", "admin", "--label", "ops")
    assert issued.returncode == 0, issued.stderr
    stack.start(seed=False)
    try:
        yield stack, issued.stdout.strip()
    finally:
        stack.stop()


def test_a_real_home_is_onboarded_paired_fed_by_its_hub_and_answered(
    onboarded: tuple[RunningStack, str],
) -> None:
    stack, admin = onboarded
    status, body = call(stack, "POST", "/api/v1/admin/households", {"name": "赵家", "members": 3}, admin)
    assert status == 201, body
    home = body["household_id"]
    devices: dict[str, dict[str, Any]] = {}
    for kind, name in (("speaker", "客厅音箱"), ("panel", "中控屏"), ("hub", "家庭网关")):
        status, devices[kind] = call(
            stack, "POST", f"/api/v1/admin/households/{home}/devices", {"kind": kind, "name": name}, admin
        )
        assert status == 201 and devices[kind]["pairing"]["qr_svg"].startswith("<svg")
    aircon_body = {
        "kind": "appliance",
        "category": "空调",
        "name": "客厅空调",
        "room": "客厅",
        "rated_power_w": 1500,
    }
    status, aircon = call(stack, "POST", f"/api/v1/admin/households/{home}/devices", aircon_body, admin)
    assert status == 201 and "pairing" not in aircon
    tokens = {}
    for kind, device in devices.items():
        status, paired = call(stack, "POST", "/api/v1/pair", {"code": device["pairing"]["code"]})
        assert status == 201 and paired["kind"] == kind and paired["household_id"] == home
        tokens[kind] = paired["token"]
    status, again = call(stack, "POST", "/api/v1/pair", {"code": devices["speaker"]["pairing"]["code"]})
    assert (status, again["error"]["code"]) == (409, "pairing_code_used")

    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    slots = [first + timedelta(hours=h) for h in range(int((local - first).total_seconds() // 3600) - 1)][:6]
    assert slots, "the month has at least one finished hour"
    rows = [f"{aircon['device_id']},{s:%Y-%m-%d %H:%M},60,{700 + 10 * i}" for i, s in enumerate(slots)]
    upload = {"format": "interval_wh", "payload": CSV_HEAD + "\n".join(rows) + "\n"}
    status, stored = call(stack, "POST", "/api/v1/telemetry", upload, tokens["hub"])
    assert (status, stored["accepted"], stored["rejected"]) == (200, len(slots), [])
    expected = sum((Decimal(700 + 10 * i) / 1000 for i in range(len(slots))), Decimal(0))

    status, answer = stack.converse(tokens["speaker"], "我家空调这个月用了多少度电")
    assert status == 200, answer
    card = answer["replies"][0]["card"]
    assert card["type"] == "energy_usage" and Decimal(card["kwh"]) == expected
    assert str(expected.quantize(Decimal("0.1"))) in answer["replies"][0]["text"]
    status, _ = stack.converse(tokens["panel"], "你好")
    assert status == 200
    status, _ = stack.converse(tokens["hub"], "你好")
    assert status == 403

    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        demo = session.exec(
            select(ApiToken).where(ApiToken.token_hash.in_([hash_token(t) for t in DEMO_TOKENS]))  # type: ignore[attr-defined]
        ).all()
    engine.dispose()
    assert demo == []


def test_a_revoked_speaker_is_refused_at_once_and_a_foreign_batch_changes_nothing(
    onboarded: tuple[RunningStack, str],
) -> None:
    stack, admin = onboarded
    status, body = call(stack, "POST", "/api/v1/admin/households", {"name": "钱家"}, admin)
    home = body["household_id"]
    _, speaker = call(
        stack, "POST", f"/api/v1/admin/households/{home}/devices", {"kind": "speaker", "name": "音箱"}, admin
    )
    _, hub = call(
        stack, "POST", f"/api/v1/admin/households/{home}/devices", {"kind": "hub", "name": "网关"}, admin
    )
    _, paired = call(stack, "POST", "/api/v1/pair", {"code": speaker["pairing"]["code"]})
    _, hub_paired = call(stack, "POST", "/api/v1/pair", {"code": hub["pairing"]["code"]})
    assert stack.converse(paired["token"], "你好")[0] == 200
    status, _ = call(stack, "DELETE", f"/api/v1/admin/devices/{speaker['device_id']}/tokens", token=admin)
    assert status == 204
    status, refused = stack.converse(paired["token"], "你好")
    assert (status, refused["error"]["code"]) == (401, "invalid_token")
    _, households = call(stack, "GET", "/api/v1/admin/households", token=admin)
    other = next(h for h in households["households"] if h["household_id"] != home)
    _, their_devices = call(
        stack, "GET", f"/api/v1/admin/households/{other['household_id']}/devices", token=admin
    )
    aircon = next(d for d in their_devices["devices"] if d["kind"] == "appliance")
    upload = {
        "format": "interval_wh",
        "payload": f"{CSV_HEAD}{aircon['device_id']},2025-07-01 08:00,60,500\n",
    }
    status, body = call(stack, "POST", "/api/v1/telemetry", upload, hub_paired["token"])
    assert (status, body["error"]["code"]) == (403, "device_not_in_household")


def test_the_panels_first_run_screen_pairs_with_a_code_in_real_chromium(
    onboarded: tuple[RunningStack, str],
) -> None:
    stack, admin = onboarded
    _, body = call(stack, "POST", "/api/v1/admin/households", {"name": "孙家"}, admin)
    _, panel = call(
        stack,
        "POST",
        f"/api/v1/admin/households/{body['household_id']}/devices",
        {"kind": "panel", "name": "中控屏"},
        admin,
    )
    code = panel["pairing"]["code"]
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(f"{stack.url}/panel")
        expect(page.locator("#view-setup")).to_be_visible()
        page.fill("#setup-code", wrong)
        page.click("#setup-form button")
        expect(page.locator("#setup-result")).to_have_text("配对码不正确，请核对后再试")
        page.fill("#setup-code", code)
        page.click("#setup-form button")
        expect(page.locator("#view-chat")).to_be_visible(timeout=15000)
        page.fill("#text", "你好")
        page.click("#send")
        expect(page.locator(".msg.bot.pending")).to_have_count(0, timeout=30000)
        assert page.locator(".msg.bot.error").count() == 0
        assert page.locator(".msg.bot").count() >= 1
        token = page.evaluate("localStorage.getItem('homefin.panel.token')")
        page.reload()
        expect(page.locator("#view-chat")).to_be_visible()
        browser.close()
    assert errors == []
    assert token and stack.converse(token, "你好")[0] == 200
    status, again = call(stack, "POST", "/api/v1/pair", {"code": code})
    assert (status, again["error"]["code"]) == (409, "pairing_code_used")
