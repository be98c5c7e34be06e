"""The application journey end to end on the real stack in demo mode: speaker (text turns through
Rasa and the action server) → the open panel in real Chromium → the phone page in real Chromium at
390×844 → the demo partner simulator (real signed HTTP both ways) → the speaker and the panel hear
the decision. Then the faults: the partner down across a gateway restart, a replayed callback.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.partners import signing
from bot.testing.harness import RunningStack, free_port, make_stack

pytestmark = pytest.mark.stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SPEAKER, PANEL = "demo-zhang-speaker", "demo-zhang-panel"
PUBLIC = "https://home.example.test"
SECRET = "demo-lender-shared-secret-not-for-production"


def demo_stack(var: Path, *, partner: bool = True) -> RunningStack:
    sim = free_port()
    return make_stack(
        var,
        {
            "BOT_DEMO": "true",
            "BOT_PARTNER_SIM": "true" if partner else "false",
            "BOT_PARTNER_SIM_PORT": str(sim),
            "BOT_PARTNER_SIM_DELAY_S": "2",
            "BOT_PUBLIC_URL": PUBLIC,
        },
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = demo_stack(tmp_path_factory.mktemp("journey"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def call(stack: RunningStack, method: str, path: str, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    req = urllib.request.Request(f"{stack.url}{path}", data=body, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def simulator_deliveries(stack: RunningStack) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{stack.env['BOT_PARTNER_SIM_PORT']}/deliveries"
    with urllib.request.urlopen(url, timeout=10) as resp:
        found: list[dict[str, Any]] = json.loads(resp.read())["deliveries"]
    return found


def wait_for(what: Callable[[], Any], seconds: float = 60) -> Any:
    """Poll until ``what()`` is truthy (a wait for another process, not a speed assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = what()
        except (urllib.error.URLError, OSError):
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("condition not reached")


def spoken(stack: RunningStack, text: str) -> tuple[str, list[dict[str, Any]]]:
    status, body = stack.converse(SPEAKER, text)
    assert status == 200, body
    replies = body["replies"]
    return "".join(r["text"] for r in replies), [r["card"] for r in replies if r["card"]]


def start_application(stack: RunningStack) -> int:
    _, quote = spoken(stack, "新风机分十二期每个月多少钱")
    offer_id = int(next(c for c in quote if c["type"] == "installment_quote")["offer_id"])
    spoken(stack, "好的")
    said, cards = spoken(stack, "确认")
    status = next(c for c in cards if c["type"] == "application_status")
    assert status["state"] == "pending" and int(status["offer_id"]) == offer_id, said
    return offer_id


def application(stack: RunningStack, offer_id: int) -> dict[str, Any]:
    _, body = call(stack, "GET", "/api/v1/me/applications", PANEL)
    return next(a for a in body["applications"] if a["offer_id"] == offer_id)


def phone_link(stack: RunningStack, offer_id: int) -> str:
    status, qr = call(stack, "GET", f"/api/v1/me/applications/{offer_id}/qr", PANEL)
    assert status == 200 and qr["payload"].startswith(f"{PUBLIC}/phone/"), qr
    return str(qr["payload"])[len(PUBLIC) :]


def open_panel(browser: Browser, stack: RunningStack) -> Page:
    page = browser.new_page(viewport={"width": 1024, "height": 600})
    page.goto(f"{stack.url}/panel#token={PANEL}")
    page.click("#tab-applications")
    expect(page.locator("#view-applications")).to_have_attribute("data-stream", "live")
    return page


def test_speaker_panel_phone_partner_and_back(stack: RunningStack, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    panel = open_panel(browser, stack)
    offer_id = start_application(stack)
    app_id = application(stack, offer_id)["application_id"]
    item = panel.locator(f"#applications li[data-application-id='{app_id}']")
    expect(item).to_have_attribute("data-state", "pending")  # pushed: the panel was not reloaded
    expect(panel.locator("#applications-badge")).to_have_text("1")
    panel.screenshot(path=str(ARTIFACTS / "journey-panel-pending.png"))

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    link = phone_link(stack, offer_id)
    phone.goto(f"{stack.url}{link}")
    expect(phone.locator("#apr")).to_contain_text("年化利率")
    order = phone.evaluate("[...document.querySelectorAll('#apr, #rows')].map(e => e.id)")
    assert order == ["apr", "rows"], "the APR comes before any monthly figure"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling at 390 px"
    phone.screenshot(path=str(ARTIFACTS / "journey-phone.png"))
    phone.locator("#confirm").tap()
    expect(phone.locator("#state")).to_have_attribute("data-state", "confirmed")
    expect(item).to_have_attribute("data-state", "confirmed")

    deliveries = wait_for(lambda: simulator_deliveries(stack))
    assert [d["kind"] for d in deliveries] == ["confirmation"] and deliveries[0]["signed"] is True
    assert deliveries[0]["application_id"] == app_id
    wait_for(lambda: application(stack, offer_id)["state"] == "approved")
    said, cards = spoken(stack, "分期批了吗")
    assert "已批准" in said and cards[0]["state"] == "approved", said
    expect(item).to_have_attribute("data-state", "approved")
    panel.screenshot(path=str(ARTIFACTS / "journey-panel-approved.png"))
    history = [h["channel"] for h in application(stack, offer_id)["history"]]
    assert history == ["voice", "phone", "partner"]
    assert len(simulator_deliveries(stack)) == 1, "exactly one delivery"

    status, used = call(stack, "POST", f"/api/v1{link}/confirm")
    assert status == 410 and used["error"]["code"] == "phone_link_used", used
    phone.close()
    panel.close()


def test_speaker_cannot_confirm_and_a_replayed_or_forged_callback_changes_nothing(
    stack: RunningStack,
) -> None:
    offer_id = start_application(stack)
    status, body = call(stack, "POST", f"/api/v1/me/applications/{offer_id}/confirm", SPEAKER)
    assert status == 403 and "中控屏" in body["error"]["message"]
    status, body = call(stack, "POST", f"/api/v1/me/applications/{offer_id}/confirm", PANEL)
    assert status == 200 and body["confirmed_via"] == "panel"
    app_id = application(stack, offer_id)["application_id"]
    wait_for(lambda: application(stack, offer_id)["state"] == "approved")
    raw = json.dumps({"application_id": app_id, "decision": "declined", "idempotency_key": "x"}).encode()
    forged = {
        "Content-Type": "application/json",
        signing.HEADER: signing.signature("guess", raw, int(time.time())),
    }
    assert call(stack, "POST", "/api/v1/partners/demo-lender/decisions", body=raw, headers=forged)[0] == 401
    again = json.dumps(
        {"application_id": app_id, "decision": "approved", "idempotency_key": f"sim-{app_id}-approved"}
    )
    good = {"Content-Type": "application/json",
            signing.HEADER: signing.signature(SECRET, again.encode(), int(time.time()))}  # fmt: skip
    status, body = call(
        stack, "POST", "/api/v1/partners/demo-lender/decisions", body=again.encode(), headers=good
    )
    assert status == 200 and body["outcome"] == "duplicate"
    said, _ = spoken(stack, "取消申请")
    assert application(stack, offer_id)["state"] == "cancelled", said
    wait_for(lambda: [d for d in simulator_deliveries(stack) if d["kind"] == "cancellation"])
    late = json.dumps({"application_id": app_id, "decision": "disbursed", "idempotency_key": "late"}).encode()
    late_h = {
        "Content-Type": "application/json",
        signing.HEADER: signing.signature(SECRET, late, int(time.time())),
    }
    status, body = call(stack, "POST", "/api/v1/partners/demo-lender/decisions", body=late, headers=late_h)
    assert (
        status == 200
        and body["outcome"] == "cancelled"
        and application(stack, offer_id)["state"] == "cancelled"
    )
    checked = stack.bot("invariants")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_partner_down_across_a_gateway_restart_delivers_once(tmp_path: Path) -> None:
    down = demo_stack(tmp_path, partner=False)  # no simulator: every delivery attempt fails
    down.start()
    try:
        offer_id = start_application(down)
        status, _ = call(down, "POST", f"/api/v1/me/applications/{offer_id}/confirm", PANEL)
        assert status == 200
        wait_for(lambda: _attempts(down) >= 2)
    finally:
        down.stop()
    down.env["BOT_PARTNER_SIM"] = "true"
    down.port = free_port()  # the old port may linger in TIME_WAIT (the stack's port check refuses it)
    down.env["BOT_PORT"] = str(down.port)
    down.start()
    try:
        wait_for(lambda: application(down, offer_id)["state"] == "approved")
        deliveries = simulator_deliveries(down)
        assert [d["kind"] for d in deliveries] == ["confirmation"]
        checked = down.bot("invariants")
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        down.stop()


def _attempts(stack: RunningStack) -> int:
    _, view = call(stack, "GET", "/api/v1/admin/applications", "demo-admin")
    return sum(d["attempts"] for d in view["deliveries"])
