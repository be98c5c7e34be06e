"""The designer studio in real headless Chromium (Playwright, /usr/bin/chromium) at 1280×800 against
the real stack (gateway → Rasa server → action server → database), with the panel's strict CSP.

Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlmodel import Session

from bot.store.db import make_engine, utcnow
from bot.store.models import TokenRole
from bot.store.repo import issue_token
from bot.testing.harness import RunningStack

pytestmark = pytest.mark.stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
SLOW = 60000

BROKEN_CASE = """cases:
  - name: 故意写错的年化利率
    device: {household: 李家, kind: speaker}
    turns:
      - user: 新风机分十二期每个月多少钱
        card: {type: installment_quote, apr_text: "12.03%"}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Studio:
    """A studio page of one designer token, collecting console errors (CSP violations among them)."""

    def __init__(self, browser: Browser, stack: RunningStack, token: str):
        self.page: Page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))
        self.page.goto(f"{stack.url}/studio#token={token}")
        expect(self.page.locator("body[data-ready=true]")).to_have_count(1, timeout=SLOW)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def tab(self, name: str) -> None:
        self.page.click(f"#tab-{name}")
        expect(self.page.locator(f"#view-{name}")).to_be_visible()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"studio-{name}-1280x800.png"))

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.page.close()


def test_try_shows_the_intent_entities_and_the_sandbox_answer(
    browser: Browser, shared_stack: RunningStack
) -> None:
    studio = Studio(browser, shared_stack, "demo-designer")
    studio.page.fill("#try-text", "新风机 分 十二 期 每 个 月 多少 钱")
    studio.page.click("#try-send")
    expect(studio.page.locator("#nlu-intent")).to_have_text("ask_installment", timeout=SLOW)
    expect(studio.page.locator("#nlu-normalized")).to_have_text("新风机分十二期每个月多少钱")
    entities = studio.page.locator("#nlu-entities").inner_text()
    assert "device_type" in entities and "新风机" in entities and "periods" in entities, entities
    assert studio.page.locator("#nlu-ranking li").count() >= 2
    expect(studio.page.locator("#try-chat")).to_contain_text("年化利率13.03%")
    expect(studio.page.locator("#try-chat")).to_contain_text("installment_quote")
    studio.shot("try")
    studio.tab("flows")
    expect(studio.page.locator("#flow-svg")).to_be_visible(timeout=SLOW)
    studio.page.check("#flows-last")
    expect(studio.page.locator("#flow-title")).to_contain_text("上一次沙盒对话的路径")
    lit = sorted(n.get_attribute("data-node") or "" for n in studio.page.locator("#flow-svg .node.hl").all())
    assert lit == ["action:action_installment_quote", "action:installment_form", "intent:ask_installment"], (
        lit
    )
    studio.close()


def test_editing_a_response_fires_the_rule_check_on_a_forbidden_word(
    browser: Browser, shared_stack: RunningStack
) -> None:
    studio = Studio(browser, shared_stack, "demo-designer")
    studio.tab("responses")
    studio.page.fill("#response-search", "utter_quote")
    studio.page.locator("#response-list li[data-name=utter_quote] button").click()
    area = studio.page.locator("#response-variations textarea").first
    expect(area).to_have_value("{product}分{periods}期，年化利率{apr_text}，月供{monthly}元。")
    expect(studio.page.locator("#response-problems")).to_contain_text("符合规则")
    area.fill("{product}分{periods}期免息，月供{monthly}元。")
    expect(studio.page.locator("#response-problems")).to_contain_text("「免息」只能用在年化利率为0的回复里")
    area.fill("{product}分{periods}期，年化利率{apr_text}，月供{monthly}元，" + "另外还有很多要说的话" * 4)
    expect(studio.page.locator("#response-problems")).to_contain_text("超过60字")
    studio.shot("responses")
    studio.close()


def test_a_broken_conversation_test_is_reported_with_the_actual_reply(
    browser: Browser, shared_stack: RunningStack
) -> None:
    studio = Studio(browser, shared_stack, "demo-designer")
    studio.tab("check")
    studio.page.fill("#check-yaml", BROKEN_CASE)
    studio.page.click("#check-run")
    failed = studio.page.locator("#check-results li.failed")
    expect(failed).to_have_count(1, timeout=SLOW)
    report = failed.locator("pre.report")
    expect(report).to_contain_text("expected: card installment_quote.apr_text is '12.03%' (got '13.03%')")
    expect(report).to_contain_text("actual reply: 海尔新风机分12期，年化利率13.03%，月供1072.00元。")
    expect(studio.page.locator("#check-count")).to_contain_text("完成：0/1 通过")
    studio.shot("check")
    studio.close()


def test_the_flow_graph_renders_with_the_headline_path(browser: Browser, shared_stack: RunningStack) -> None:
    studio = Studio(browser, shared_stack, "demo-designer")
    studio.tab("flows")
    expect(studio.page.locator("#flow-svg")).to_be_visible(timeout=SLOW)
    expect(studio.page.locator("#flow-title")).to_contain_text(
        "usage, tip accepted, upgrade with installment"
    )
    lit = studio.page.locator("#flow-svg .node.hl")
    names = sorted(n.get_attribute("data-node") or "" for n in lit.all())
    assert names == [
        "action:action_affirm",
        "action:action_energy_usage",
        "intent:affirm",
        "intent:ask_energy_usage",
    ]
    assert studio.page.locator("#flow-svg .edge.hl").count() == 4
    assert studio.page.locator("#flow-svg .node").count() > 20
    studio.shot("flows")
    studio.tab("training")
    expect(studio.page.locator("#intent-list li").first).to_be_visible(timeout=SLOW)
    studio.page.locator("#intent-list button", has_text="ask_installment").click()
    expect(studio.page.locator("#intent-name")).to_contain_text("ask_installment（")
    assert studio.page.locator("#examples li").count() >= 30
    studio.close()


def test_a_designer_of_another_tenant_sees_only_its_catalog_words_and_sandbox(
    browser: Browser, shared_stack: RunningStack
) -> None:
    engine = make_engine(shared_stack.db_url)
    with Session(engine) as session:
        issue_token(
            session, "zhijia-designer-browser", TokenRole.DESIGNER, "zhijia", None, "designer", utcnow()
        )
        session.commit()
    engine.dispose()
    studio = Studio(browser, shared_stack, "zhijia-designer-browser")
    words = studio.page.locator("#catalog-words").inner_text()
    assert "大金" in words and "格力" not in words and "GREE-KFR35-YJ1" not in words, words
    assert studio.page.locator("#try-household option").all_inner_texts() == ["王家"]
    studio.page.fill("#try-text", "你好")
    studio.page.click("#try-send")
    expect(studio.page.locator("#try-sandbox")).to_contain_text("王家", timeout=SLOW)
    assert "小居" not in studio.page.locator("#try-chat").inner_text()
    studio.shot("tenant")
    studio.close()
