"""NLU on the held-out set through the real stack: accuracy, entity F1 and parse latency; and the
skill's boundary on the held-out negatives (device commands, questions about the world and chatter,
tests/nlu_negatives*.yml, batches A–E): the share that gets a finance, offer, consent or confirmation
intent (``nlu_offer_misfire_rate``), the share a real converse turn answers with ``handled: false``,
and (batches C–E, labelled by the reason expected) how often that turn's ``reason`` is the expected
one. Each batch is also reported alone (``…_batch_b`` … ``…_batch_e``): batch E is the one no change
was tuned on (docs/nlu.md), D was untouched until round 2's end.

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
from dataclasses import dataclass, field
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
"""Batch B: written after batch A's first evaluation; the gate's word lists were widened from it."""
NEGATIVES_C = HELDOUT.with_name("nlu_negatives_c.yml")
"""Batch C: written before the second round; its failure classes informed that round's changes."""
NEGATIVES_D = HELDOUT.with_name("nlu_negatives_d.yml")
"""Batch D: written with C, untouched by round 2's changes; its failure classes informed round 3."""
NEGATIVES_E = HELDOUT.with_name("nlu_negatives_e.yml")
"""Batch E: written before round 3, untouched by any change: the honest figure."""
BATCHES = {"a": NEGATIVES, "b": NEGATIVES_B, "c": NEGATIVES_C, "d": NEGATIVES_D, "e": NEGATIVES_E}
"""Every negative batch by its letter."""
REASON_BATCHES = ("c", "d", "e")
"""The batches labelled with the reason a turn should be handed back for."""
REASONS = frozenset({"device_control", "out_of_scope", "chitchat"})
"""Labels of batches C–E: the reason a turn should be handed back for."""
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


@dataclass
class Turns:
    """Negatives sent as real converse turns: which were answered ``handled: false`` and why."""

    total: int = 0
    handled: list[str] = field(default_factory=list)
    """Texts the skill took as its own (``handled`` not false)."""
    reasons: list[tuple[str, str, str]] = field(default_factory=list)
    """(text, expected reason, reason given) for the examples labelled with a reason."""

    @property
    def handled_false_rate(self) -> float:
        """Share of the turns answered ``handled: false``."""
        return 1 - len(self.handled) / self.total if self.total else 0.0

    @property
    def reason_agreement(self) -> float:
        """Share of the reason-labelled turns whose ``reason`` is the label (handled counts as wrong)."""
        right = sum(1 for _, expected, got in self.reasons if got == expected)
        return right / len(self.reasons) if self.reasons else 0.0


def converse_negatives(stack: RunningStack, examples: list[Example]) -> Turns:
    """Each negative as a real converse turn of one conversation (in file order)."""
    turns = Turns()
    for example in examples:
        status, body = stack.converse(NEGATIVE_SPEAKER, example.text)
        turns.total += 1
        not_handled = status == 200 and body.get("handled") is False
        if not not_handled:
            turns.handled.append(example.text)
        if example.intent in REASONS:
            given = str(body.get("reason")) if not_handled else "handled"
            turns.reasons.append((example.text, example.intent, given))
    return turns


def boundary(stack: RunningStack, only: str | None = None) -> dict[str, Any]:
    """Misfires (parse) and handled:false with its reason (converse) on the held-out negatives: every
    batch, or only the batch lettered ``only`` (its figures alone, e.g. the untouched batch E)."""
    batches = {name: read_examples(path) for name, path in BATCHES.items() if only in (None, name)}
    every = [e for examples in batches.values() for e in examples]
    parse = designer_parse(stack)
    report = score_negatives(every, parse)
    misfired = {m["text"] for m in report.misfires}
    turns = {name: converse_negatives(stack, examples) for name, examples in batches.items()}
    print(f"negatives: {report.total}, misfires: {len(report.misfires)}", flush=True)
    for miss in report.misfires:
        print(f"  misfire {miss['got']} ({miss['confidence']}): {miss['text']}", flush=True)
    for name, batch in turns.items():
        for text in batch.handled:
            print(f"  handled ({name}): {text}", flush=True)
        for text, expected, got in batch.reasons if name in REASON_BATCHES else []:
            if got != expected:
                print(f"  reason ({name}) {got} for {expected}: {text}", flush=True)
    rate = {name: sum(e.text in misfired for e in ex) / len(ex) for name, ex in batches.items()}
    figures: dict[str, Any] = {}
    for name in batches:
        figures[f"nlu_offer_misfire_rate_batch_{name}"] = round(rate[name], 4)
        figures[f"nlu_handled_false_rate_batch_{name}"] = round(turns[name].handled_false_rate, 4)
        if name in REASON_BATCHES:
            figures[f"nlu_boundary_reason_agreement_batch_{name}"] = round(turns[name].reason_agreement, 4)
    if only is not None:
        return figures
    handled_false = sum(t.total - len(t.handled) for t in turns.values()) / len(every)
    labelled = Turns(reasons=[r for name in REASON_BATCHES for r in turns[name].reasons])
    return {
        "nlu_negatives_examples": report.total,
        "nlu_offer_misfire_rate": round(report.misfire_rate, 4),
        "nlu_handled_false_rate_on_negatives": round(handled_false, 4),
        "nlu_boundary_reason_agreement": round(labelled.reason_agreement, 4),
        **figures,
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
