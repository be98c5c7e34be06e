"""NLU on the held-out set through the real stack: accuracy, entity F1 and parse latency.

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
from bot.nlu.evaluate import read_examples, render, score
from bot.nlu.normalize import normalize
from bot.testing.harness import RunningStack

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu_heldout.yml"
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
    url = f"http://127.0.0.1:{port}/model/parse?token={token}"

    def parse(text: str) -> dict[str, Any]:
        body = json.dumps({"text": normalize(text)}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
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


def run(stack: RunningStack) -> dict[str, Any]:
    """Score the held-out set and time parses; prints the full report with the confusion list."""
    examples = read_examples(HELDOUT)
    report = score(examples, designer_parse(stack))
    print(render(report), flush=True)
    direct = rasa_parse(stack)
    samples = latencies_ms(direct or designer_parse(stack), [e.text for e in examples])
    return {
        **report.summary(),
        "nlu_parse_p50_ms": round(statistics.median(samples), 1),
        "nlu_parse_p95_ms": round(percentile(samples, 0.95), 1),
        "nlu_parse_samples": len(samples),
        "nlu_parse_path": "rasa /model/parse" if direct else "gateway /api/v1/nlu/parse",
    }
