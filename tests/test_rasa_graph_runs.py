"""``bot.rasa.graph_runs`` (run in the engine environment with the trained model): Rasa's graphs run
without dask's scheduler give exactly what stock Rasa 3.6.21 gives — every parse of the held-out
set and a negatives batch (intent, confidence, the whole ranking, entities), the policies'
prediction at every step of every story and rule of ``data/`` (also with rewinds, undone actions and
restarts) — with every component called in stock's order and without calling dask; a graph
missing an input or a failing component raises stock's error; a graph with anything else in it
goes to dask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.rasa.graph_runs import computed, plain
from tests.engine_kit import STORY_HISTORIES, run_engine, trained_model

SCRIPT = (
    r"""
import asyncio, json, sys
from pathlib import Path
import dask
from rasa.core.agent import Agent
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.core.trackers import DialogueStateTracker
from bot.nlu.evaluate import read_examples
from bot.nlu.normalize import normalize
from bot.rasa.graph_runs import run_graphs_in_order

agent = Agent.load(sys.argv[1])
domain = agent.domain
processor = agent.processor
runner = processor.graph_runner
texts = [normalize(e.text) for path in sys.argv[2:] for e in read_examples(Path(path))]
"""
    + STORY_HISTORIES
    + r"""
from rasa.engine.graph import GraphNode
node_calls = []
stock_node_call = GraphNode.__call__
def recorded(self, *args):
    node_calls.append(self._node_name)
    return stock_node_call(self, *args)
GraphNode.__call__ = recorded

dask_calls = []
stock_get = dask.get
def counted(*args, **kwargs):
    dask_calls.append(1)
    return stock_get(*args, **kwargs)
dask.get = counted

def predictions():
    out = []
    for events in histories:
        tracker = DialogueStateTracker.from_events("s", [], domain.slots)
        for event in events:
            tracker.update(event, domain)
            prediction = processor._predict_next_with_tracker(tracker)
            events = [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in prediction.events]
            out.append([prediction.policy_name, list(map(float, prediction.probabilities)), events,
                        prediction.is_end_to_end_prediction])
    return out

def failure(call):
    try:
        call()
    except Exception as err:
        cause = err.__cause__
        return [type(err).__name__, str(err), type(cause).__name__ if cause else None]
    return None

FAILURES = [
    lambda: runner.run(inputs={}, targets=[processor.model_metadata.nlu_target]),  # no message
    lambda: runner.run(inputs={PLACEHOLDER_TRACKER: None}, targets=[processor.model_metadata.core_target]),
    lambda: runner.run(inputs={PLACEHOLDER_MESSAGE: []}, targets=["no_such_node"]),
]

async def main():
    stock_parses = [await agent.parse_message(t) for t in texts]
    stock_predictions = predictions()
    stock_order = list(node_calls)
    stock_failures = [failure(f) for f in FAILURES]
    applied = run_graphs_in_order()
    dask_calls.clear()
    node_calls.clear()
    parses = [await agent.parse_message(t) for t in texts]
    adapted_predictions = predictions()
    calls = len(dask_calls)
    adapted_order = list(node_calls)
    adapted_failures = [failure(f) for f in FAILURES]
    print(json.dumps({
        "applied": applied, "texts": len(texts), "steps": len(stock_predictions), "dask_calls": calls,
        "different_parses": [t for t, a, b in zip(texts, stock_parses, parses) if a != b],
        "different_predictions": sum(a != b for a, b in zip(stock_predictions, adapted_predictions)),
        "policies": sorted({p[0] for p in stock_predictions if p[0]}),
        "same_order": adapted_order == stock_order, "node_calls": len(stock_order),
        "nodes": sorted(set(stock_order)),
        "stock_failures": stock_failures, "adapted_failures": adapted_failures,
    }, ensure_ascii=False))

asyncio.run(main())
"""
)

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings: stock runs, then the same with the graphs run in order."""
    files = [TESTS / "nlu_heldout.yml", TESTS / "nlu_negatives_e.yml"]
    return run_engine(SCRIPT, str(trained_model()), *map(str, files), timeout=900)


def test_parses_and_predictions_equal_stock_without_dask(findings: dict[str, Any]) -> None:
    assert findings["applied"] is True
    assert findings["texts"] > 400 and findings["steps"] > 500
    assert findings["different_parses"] == []
    assert findings["different_predictions"] == 0
    assert len(findings["policies"]) >= 2, findings["policies"]  # rules and memoization both decided
    assert findings["dask_calls"] == 0
    assert findings["same_order"] is True  # every component called in stock's order
    assert findings["node_calls"] > 5 * (findings["texts"] + findings["steps"])
    assert {"run_DIETClassifier6", "run_RulePolicy0", "run_MemoizationPolicy1"} <= set(findings["nodes"])


def test_failures_raise_stock_errors(findings: dict[str, Any]) -> None:
    assert findings["adapted_failures"] == findings["stock_failures"]
    assert all(findings["stock_failures"]), findings["stock_failures"]


def test_only_graphs_made_of_rasa_nodes_and_inputs_are_computed_here() -> None:
    calls: list[str] = []

    def node(name: str) -> Any:
        def run(*inputs: Any) -> tuple[str, list[Any]]:
            calls.append(name)
            return name, list(inputs)

        return run

    graph = {
        "a": (node("a"), "__message__", "b"),
        "b": (node("b"), "__message__", "missing"),
        "c": (node("c"), "a", "b"),
        "__message__": ("__message__", ["text"]),
    }
    assert plain(graph)
    c = computed(graph, ["c", "a"], ["__message__", "b", "a", "c"])
    assert calls == ["b", "a", "c"]  # each once, in the schedule's order
    message = ("__message__", ["text"])
    b = ("b", [message, "missing"])  # a name not in the graph is passed as it is, as dask passes it
    assert c == (("c", [("a", [message, b]), b]), ("a", [message, b]))
    assert not plain({**graph, "d": (node("d"), ["a"])})  # a list argument: dask's own
    assert not plain({**graph, "e": 7})
