"""The panel's home screen in real headless Chromium against a real stack, at 1280×800 and 1024×600:
this month's energy vs last month with the top devices, open applications, points with their history,
consent state and suggestions — each checked against the household's data from the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from bot.testing.harness import RunningStack, make_stack
from tests.test_panel_browser import SMALL, WIDE, Panel, api, browser, playwright

pytestmark = pytest.mark.stack
__all__ = ["browser", "playwright"]  # fixtures shared with the panel tests


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("home-stack"))
    running.start()
    yield running
    running.stop()


def _fits(panel: Panel, selector: str) -> None:
    width = panel.viewport["width"]
    for box in panel.page.locator(selector).all():
        bounds = box.bounding_box()
        assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width + 1, bounds
    assert panel.page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("viewport", [WIDE, SMALL], ids=["1280x800", "1024x600"])
def test_home_screen_shows_the_households_own_figures(
    browser: Browser, stack: RunningStack, viewport: dict[str, int]
) -> None:
    home: dict[str, Any] = api(stack, "demo-zhang-panel", "/api/v1/me/home")
    panel = Panel(browser, stack, "demo-zhang-panel", viewport)
    page = panel.page
    expect(page.locator("#home-energy")).to_be_visible()
    energy = home["energy"]
    assert page.locator("#home-energy [data-field=kwh]").inner_text() == energy["kwh"]
    assert energy["last_label"] in page.locator("#home-energy [data-field=versus]").inner_text()
    names = [d["name"] for d in energy["top_devices"]]
    assert len(names) == 3 and page.locator("#home-energy .top-devices li").all_inner_texts()[0].startswith(
        names[0]
    )
    assert page.locator("#home-points [data-field=points]").inner_text() == str(home["points"]["balance"])
    assert home["points"]["balance"] > 0, "the demo household's new washer has earned points"
    assert "洗衣机" in page.locator("#home-points .points-history").inner_text()
    consent = page.locator('#home-consents li[data-scope="energy_data"]')
    assert "已授权" in consent.inner_text()
    chips = page.locator("#home-suggestions .chip").all_inner_texts()
    assert 2 <= len(chips) <= 3 and chips == home["suggestions"]
    assert "没有办理中的申请" in page.locator("#home-applications").inner_text()
    _fits(panel, ".home-box")
    panel.shot("home")
    page.locator("#home-suggestions .chip").first.click()
    expect(page.locator(".msg.bot.pending")).to_have_count(0, timeout=30000)
    expect(page.locator("#home")).to_be_hidden()
    assert page.locator(".msg.user .text").first.inner_text() == chips[0]
    assert page.locator(".msg.bot .text").count() >= 1
    panel.close()


def test_my_data_lists_the_households_complaint_tickets(browser: Browser, stack: RunningStack) -> None:
    status, body = stack.converse("demo-zhang-panel", "我要投诉")
    assert status == 200, body
    ticket = next(r["card"]["ticket"] for r in body["replies"] if r["card"])
    panel = Panel(browser, stack, "demo-zhang-panel", SMALL)
    panel.page.click("#tab-mydata")
    row = panel.page.locator(f'#complaints li[data-ticket="{ticket}"]')
    expect(row).to_be_visible()
    assert "投诉" in row.inner_text() and "处理中" in row.inner_text()
    _fits(panel, "#view-mydata .panel-box")
    panel.shot("mydata-complaints")
    panel.close()
