"""NLU on the held-out set through the real stack: accuracy, entity F1 and parse latency; and the
skill's boundary on the held-out negatives (device commands and chatter, tests/nlu_negatives.yml):
the share that gets a finance, offer, consent or confirmation intent (``nlu_offer_misfire_rate``)
and the share a real converse turn answers with ``handled: false``.

Quality goes through the gateway's designer route (``POST /api/v1/nlu/parse``, the path a designer
uses); latency is measured against the Rasa server's own ``/model/parse`` when the stack's Rasa
token is known (``BOT_RASA_TOKEN``), else through the designer route.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import percentile
from bot.cli.nlu_client import DESIGNER_TOKEN, parse_via_gateway
from bot.conversation.rasa_auth import RasaAuth
from bot.nlu.evaluate import Example, read_examples, render, score, score_negatives
from bot.nlu.normalize import normalize
from bot.testing.harness import RunningStack

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu_heldout.yml"
NEGATIVES = HELDOUT.with_name("nlu_negatives.yml")
NEGATIVES_B = HELDOUT.with_name("nlu_negatives_b.yml")
"""Batch B: written after batch A's first evaluation; no training data was added for its failures."""
NEGATIVE_SPEAKER = "demo-li-speaker"
"""The device whose converse turns measure ``handled`` (one idle-started conversation, in order)."""
ROUNDS = 3
"""Timed passes over the held-out sentences (after one untimed warm-up pass)."""

Parse = Callable[[str], dict[str, Any]]


def designer_parse(stack: RunningStack) -> Parse:
    """Parse through the gateway with the demo designer token."""
    return lambda text: parse_via_gateway(stack.url, DESIGNER_TOKEN, text)


def rasa_parse(stack: RunningStack) -> Parse | None:
    """Parse against the Rasa server directly (normalised like the gateway does), if its token is known."""
    token, port = stack.env.get("BOT_RASA_TOKEN"), stack.env.get("BOT_RASA_PORT")
    if not token or not port:
        return None
    url, auth = f"http://127.0.0.1:{port}/model/parse", RasaAuth(token)

    def parse(text: str) -> dict[str, Any]:
        body = json.dumps({"text": normalize(text)}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", **auth.headers()}
        request = urllib.request.Request(url, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as resp:
            result: dict[str, Any] = json.loads(resp.read())
            return result

    return parse


def latencies_ms(parse: Parse, texts: list[str], rounds: int = ROUNDS) -> list[float]:
    """Wall time of each parse, after one warm-up pass."""
    for text in texts:
        parse(text)
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            parse(text)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def handled_false_rate(stack: RunningStack, examples: list[Example]) -> tuple[float, list[str]]:
    """Each negative as a real converse turn: share answered ``handled: false``, and those that were not."""
    handled: list[str] = []
    for example in examples:
        status, body = stack.converse(NEGATIVE_SPEAKER, example.text)
        if status != 200 or body.get("handled") is not False:
            handled.append(example.text)
    return (1 - len(handled) / len(examples) if examples else 0.0), handled


def boundary(stack: RunningStack) -> dict[str, Any]:
    """Misfires (parse) and handled:false (converse) on the held-out negatives."""
    batch_a, batch_b = read_examples(NEGATIVES), read_examples(NEGATIVES_B)
    report = score_negatives(batch_a + batch_b, designer_parse(stack))
    only_b = score_negatives(batch_b, designer_parse(stack))
    rate, handled = handled_false_rate(stack, batch_a + batch_b)
    print(f"negatives: {report.total}, misfires: {len(report.misfires)}", flush=True)
    for miss in report.misfires:
        print(f"  misfire {miss['got']} ({miss['confidence']}): {miss['text']}", flush=True)
    for text in handled:
        print(f"  handled: {text}", flush=True)
    return {
        "nlu_negatives_examples": report.total,
        "nlu_offer_misfire_rate": round(report.misfire_rate, 4),
        "nlu_offer_misfire_rate_batch_b": round(only_b.misfire_rate, 4),
        "nlu_handled_false_rate_on_negatives": round(rate, 4),
    }


def run(stack: RunningStack) -> dict[str, Any]:
    """Score the held-out set and the negatives, time parses; prints the full report with confusions."""
    examples = read_examples(HELDOUT)
    report = score(examples, designer_parse(stack))
    print(render(report), flush=True)
    negatives = boundary(stack)
    direct = rasa_parse(stack)
    samples = latencies_ms(direct or designer_parse(stack), [e.text for e in examples])
    return {
        **report.summary(),
        **negatives,
        "nlu_parse_p50_ms": round(statistics.median(samples), 1),
        "nlu_parse_p95_ms": round(percentile(samples, 0.95), 1),
        "nlu_parse_samples": len(samples),
        "nlu_parse_path": "rasa /model/parse" if direct else "gateway /api/v1/nlu/parse",
    }
