"""The trained NLU on the real stack: held-out quality bars, designer route and ``bot nlu parse``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli.nlu_client import DESIGNER_TOKEN, parse_via_gateway
from bot.errors import BotError
from bot.nlu.evaluate import read_examples, render, score
from bot.testing.harness import RunningStack

pytestmark = pytest.mark.stack

HELDOUT = Path(__file__).resolve().parent / "nlu_heldout.yml"
INTENT_ACCURACY_BAR, ENTITY_F1_BAR = 0.95, 0.92


def parse(shared_stack: RunningStack, text: str) -> dict[str, Any]:
    return parse_via_gateway(shared_stack.url, DESIGNER_TOKEN, text)


def pairs(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(str(e["entity"]), str(e["value"])) for e in result["entities"]}


def test_heldout_intent_accuracy_and_entity_f1_meet_the_bar(shared_stack: RunningStack) -> None:
    examples = read_examples(HELDOUT)
    report = score(examples, lambda text: parse(shared_stack, text))
    assert report.total >= 8 * 21
    assert report.intent_accuracy >= INTENT_ACCURACY_BAR, render(report)
    assert report.entity_f1 >= ENTITY_F1_BAR, render(report)
    spaced = score([e for e in examples if " " in e.text], lambda text: parse(shared_stack, text))
    assert spaced.total >= 40
    assert spaced.intent_accuracy >= INTENT_ACCURACY_BAR - 0.05, render(spaced)
    assert spaced.entity_f1 >= ENTITY_F1_BAR, render(spaced)


@pytest.mark.parametrize(
    ("spoken", "typed"),
    [
        ("分 十二 期 每 个 月 多少 钱", "分十二期每个月多少钱"),
        ("嗯 我 家 挂机 上 个 月 用 了 多少 电", "我家挂机上个月用了多少电"),
        ("给 扫地机 买 三 年 延保", "给扫地机买三年延保"),
        ("一万二 分 十二 期", "一万二分十二期"),
    ],
)
def test_recogniser_output_parses_like_typed_text(
    shared_stack: RunningStack, spoken: str, typed: str
) -> None:
    heard, written = parse(shared_stack, spoken), parse(shared_stack, typed)
    assert heard["text"] == written["text"] == typed
    assert heard["intent"]["name"] == written["intent"]["name"]
    assert pairs(heard) == pairs(written) != set()


def test_entities_come_back_with_canonical_values(shared_stack: RunningStack) -> None:
    result = parse(shared_stack, "一万二 买 格力 的 柜机 分 两年 每个月 多少")
    assert result["intent"]["name"] == "ask_installment"
    assert 0 < result["intent"]["confidence"] <= 1
    assert pairs(result) == {
        ("amount", "12000"),
        ("brand", "格力"),
        ("device_type", "空调"),
        ("periods", "24"),
    }
    assert result["intent_ranking"][0]["name"] == "ask_installment"


def test_device_tokens_cannot_parse(shared_stack: RunningStack) -> None:
    with pytest.raises(BotError) as err:
        parse_via_gateway(shared_stack.url, "demo-zhang-speaker", "你好")
    assert err.value.status == 403 and err.value.code == "forbidden"


def test_bot_nlu_parse_prints_intent_confidence_and_entities(shared_stack: RunningStack) -> None:
    done = shared_stack.bot("nlu", "parse", "--url", shared_stack.url, "摄像头", "有", "数据", "安全险", "吗")
    assert done.returncode == 0, done.stderr
    assert "意图: ask_insurance (" in done.stdout
    assert "实体: device_type = '摄像头'" in done.stdout


def test_bot_nlu_eval_reports_the_figures_of_make_eval_nlu(shared_stack: RunningStack) -> None:
    done = shared_stack.bot("nlu", "eval", "--url", shared_stack.url, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["nlu_heldout_examples"] == len(read_examples(HELDOUT))
    assert figures["nlu_intent_accuracy"] >= INTENT_ACCURACY_BAR
    assert isinstance(figures["confusions"], list) and isinstance(figures["entity_errors"], list)
