"""``bot.rasa.inference`` (``bot.rasa.serve``'s eighth fix), in the engine environment with the
trained model: sparse features are joined without ``scipy.sparse.hstack`` and, once DIET's
prediction graph is traced, a parse calls it directly; every parse of the held-out set, a negatives
batch and a training-data file gives exactly what stock Rasa gives (intent, confidence, the whole
ranking, entities). Joined features equal hstack's in every dtype and index detail, and odd inputs
give stock's scores or fail with stock's error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine_kit import run_engine, trained_model

SCRIPT = r"""
import asyncio, json, sys
from pathlib import Path
import numpy as np
import scipy.sparse
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.features import Features
from rasa.utils.tensorflow.models import RasaModel
from tensorflow.python.eager.polymorphic_function import polymorphic_function
from bot.nlu.evaluate import read_examples
from bot.nlu.normalize import normalize
from bot.rasa.inference import combine_sparse_features_directly, predict_through_traced_graph

texts = [normalize(e.text) for path in sys.argv[2:] for e in read_examples(Path(path))]
dispatched, batches = [], []
stock_call = polymorphic_function.Function.__call__
def counted(self, *args, **kwargs):
    dispatched.append(1)
    return stock_call(self, *args, **kwargs)
polymorphic_function.Function.__call__ = counted
stock_hstack = scipy.sparse.hstack
def stacked(*args, **kwargs):
    dispatched.append(2)
    return stock_hstack(*args, **kwargs)
scipy.sparse.hstack = stacked
stock_predict = RasaModel._rasa_predict
def kept(self, batch_in):
    batches.append((self, batch_in))
    return stock_predict(self, batch_in)
RasaModel._rasa_predict = kept

def pairs():
    rng = np.random.default_rng(7)
    kinds = ((np.float64, np.int64), (np.float32, np.int64), (np.int32, np.bool_), (np.float32, np.float32))
    for rows, left, right in ((1, 30000, 40), (12, 5, 7), (3, 0, 4), (4, 70000, 70000), (0, 3, 3)):
        for dtypes in kinds:
            a = scipy.sparse.random(rows, left, density=0.3 if left < 100 else 1e-4, format="coo",
                                    dtype=dtypes[0], random_state=rng)
            b = scipy.sparse.random(rows, right, density=0.5, format="coo", dtype=dtypes[1], random_state=rng)
            yield a, b
    yield scipy.sparse.random(2, 3, format="csr"), scipy.sparse.random(2, 3, format="coo")
    yield scipy.sparse.random(2, 3, format="coo"), scipy.sparse.random(3, 3, format="coo")

def joined(a, b):
    f = Features(a.copy(), "sequence", "text", "x")
    try:
        f.combine_with_features(Features(b.copy(), "sequence", "text", "y"))
    except ValueError as err:
        return str(err)
    m = f.features
    return [m.format, str(m.dtype), str(m.row.dtype), str(m.col.dtype), m.shape,
            m.data.tolist(), m.row.tolist(), m.col.tolist()]

def outcome(call):
    try:
        return ["scores", call()["i_scores"].tolist()]
    except Exception as err:
        return [type(err).__name__, str(err)]

async def main():
    agent = Agent.load(sys.argv[1])
    stock = [await agent.parse_message(t) for t in texts]
    model, batch = batches[0]
    odd = [
        tuple(x.astype(np.float64) for x in batch),  # converted to the signature's dtypes by both
        tuple(np.expand_dims(x, 0) for x in batch),
        tuple(x.astype(str) for x in batch),  # numbers as text: converted by both too
        batch[:-1],
    ]
    stock_odd = [outcome(lambda b=b: stock_predict(model, b)) for b in odd]
    stock_joined = [joined(a, b) for a, b in pairs()]
    RasaModel._rasa_predict = stock_predict
    applied = [combine_sparse_features_directly(), predict_through_traced_graph()]
    out = {"applied": applied, "texts": len(texts)}
    dispatched.clear()
    fixed = [await agent.parse_message(t) for t in texts]
    out["dispatched"] = [dispatched.count(1), dispatched.count(2)]
    out["joined_same"] = [joined(a, b) == s for (a, b), s in zip(pairs(), stock_joined)]
    out["different"] = [t for t, a, b in zip(texts, stock, fixed) if a != b]
    out["odd_same"] = [outcome(lambda b=b: model._rasa_predict(b)) == s for b, s in zip(odd, stock_odd)]
    out["odd_outcomes"] = [s[0] for s in stock_odd]
    print(json.dumps(out, ensure_ascii=False))

asyncio.run(main())
"""

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings: the held-out set and one training-data file, stock then with the fix."""
    files = [TESTS / "nlu_heldout.yml", TESTS / "nlu_negatives_e.yml", PROJECT / "data/nlu/finance.yml"]
    return run_engine(SCRIPT, str(trained_model()), *map(str, files), timeout=900)


def test_every_parse_equals_stock_and_skips_the_generic_dispatch(findings: dict[str, Any]) -> None:
    assert findings["applied"] == [True, True]
    assert findings["texts"] > 500
    assert findings["different"] == []
    assert findings["dispatched"] == [0, 0], "neither tf.function's dispatch nor scipy's hstack runs"


def test_joined_features_equal_scipy_hstack_and_odd_pairs_go_the_stock_way(findings: dict[str, Any]) -> None:
    assert findings["joined_same"] == [True] * 22


def test_odd_inputs_give_stock_results_or_stock_errors(findings: dict[str, Any]) -> None:
    assert findings["odd_outcomes"] == ["scores", "ValueError", "scores", "ValueError"]
    assert findings["odd_same"] == [True, True, True, True]
