"""Issue 17's binding steps through the real stack (trained Rasa, action server, gateway, database) and
the panel in real Chromium: the demo household's *earned* points redeem a service by voice, the points
move only when the panel confirms and come back when the household cancels within the window; a
maintenance subscription confirmed on the panel appears on the home screen with its renewal and stops
renewing on 「取消保养订阅」. Each step asserts the spoken text and the card or screen content."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from bot.testing.harness import RunningStack, make_stack
from tests.test_everyday_stack import card, spoken
from tests.test_panel_browser import SMALL, WIDE, Panel, api, browser, playwright

pytestmark = pytest.mark.stack
__all__ = ["browser", "playwright"]  # fixtures shared with the panel tests

PANEL = "demo-zhang-panel"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("everyday-money"))
    running.start()
    yield running
    running.stop()


def say(stack: RunningStack, text: str) -> list[dict[str, Any]]:
    status, body = stack.converse(PANEL, text)
    assert status == 200, body
    replies: list[dict[str, Any]] = body["replies"]
    return replies


def post(stack: RunningStack, path: str) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{stack.url}{path}", data=b"{}", method="POST", headers={"Authorization": f"Bearer {PANEL}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body


def balance(stack: RunningStack) -> int:
    home: dict[str, Any] = api(stack, PANEL, "/api/v1/me/home")
    return int(home["points"]["balance"])


def test_earned_points_redeem_a_service_on_confirmation_and_come_back_on_cancel(
    browser: Browser, stack: RunningStack
) -> None:
    earned = balance(stack)
    assert earned >= 990, "the seed's upgrades earn at least the cheapest service (990 points)"
    offer = card(say(stack, "用积分兑换热水器保养"), "subscription_offer")
    assert (offer["title"], offer["points_price"], offer["paid_with"]) == ("热水器除垢保养", 990, "points")
    back = spoken(say(stack, "好的"))
    assert "请核对：用990绿色积分兑换热水器除垢保养" in back
    pending = card(say(stack, "确认"), "application_status")
    assert pending["state"] == "pending" and balance(stack) == earned, "nothing moves before confirmation"

    confirmed = post(stack, f"/api/v1/me/applications/{pending['offer_id']}/confirm")
    assert confirmed["state"] == "confirmed"
    assert balance(stack) == earned - 990
    panel = Panel(browser, stack, PANEL, WIDE)
    points_box = panel.page.locator("#home-points")
    expect(points_box.locator("[data-field=points]")).to_have_text(str(earned - 990))
    assert "-990" in points_box.locator(".points-history").inner_text()
    panel.shot("home-points-redeemed")
    panel.close()

    cancelled = say(stack, "取消刚才的申请")
    assert card(cancelled, "application_status")["state"] == "cancelled"
    assert "已退回990积分" in spoken(cancelled) or "990积分已退回" in spoken(cancelled)
    assert f"{earned}分" in spoken(cancelled)
    assert balance(stack) == earned
    home = api(stack, PANEL, "/api/v1/me/home")["points"]["recent"]
    assert (home[0]["delta"], home[0]["kind"], home[1]["delta"]) == (990, "refund", -990)


def test_a_subscription_confirmed_on_the_panel_shows_its_renewal_and_stops_renewing_on_request(
    browser: Browser, stack: RunningStack
) -> None:
    offer = card(say(stack, "扫地机耗材能订阅吗"), "subscription_offer")
    assert offer["renewal"]["automatic"] is True
    assert "请核对" in spoken(say(stack, "好的"))
    pending = card(say(stack, "确认"), "application_status")
    post(stack, f"/api/v1/me/applications/{pending['offer_id']}/confirm")
    (sub,) = api(stack, PANEL, "/api/v1/me/home")["subscriptions"]
    assert (sub["name"], sub["state"], sub["auto_renew"], sub["reminder_due"]) == (
        "扫地机器人耗材订阅",
        "active",
        True,
        False,
    )
    for viewport in (WIDE, SMALL):
        panel = Panel(browser, stack, PANEL, viewport)
        row = panel.page.locator(f'#home-subscriptions li[data-subscription="{sub["subscription"]}"]')
        expect(row).to_be_visible()
        assert "扫地机器人耗材订阅" in row.inner_text() and "自动续费" in row.inner_text()
        expect(row.locator("[data-action=cancel-subscription]")).to_have_text("取消保养订阅")
        panel.shot("home-subscription")
        panel.close()

    panel = Panel(browser, stack, PANEL, SMALL)
    panel.page.locator("[data-action=cancel-subscription]").click()
    expect(panel.page.locator(".msg.bot.pending")).to_have_count(0, timeout=30000)
    expect(panel.page.locator(".card-subscription_status")).to_be_visible()
    assert "不再自动续费" in panel.page.locator(".msg.bot .text").last.inner_text() or "已取消" in (
        panel.page.locator(".msg.bot .text").last.inner_text()
    )
    panel.close()
    (after,) = api(stack, PANEL, "/api/v1/me/home")["subscriptions"]
    assert (after["state"], after["auto_renew"]) == ("cancelled", False)
    panel = Panel(browser, stack, PANEL, WIDE)
    row = panel.page.locator(f'#home-subscriptions li[data-subscription="{sub["subscription"]}"]')
    expect(row.locator("[data-field=renewal]")).to_contain_text("不再续费")
    panel.close()
