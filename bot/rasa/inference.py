"""DIET's inference without generic dispatch (issue 23; applied by ``bot.rasa.serve``): sparse
features combined directly, and the TensorFlow prediction called through its one traced graph.

**Features.** Before DIET predicts, a message's sparse features from the featurizers (two count
vectorizers, the regex featurizer; per token and for the sentence) are put side by side with
``scipy.sparse.hstack``, four times per parse. For two COO matrices, that builds a block grid of
objects, converts each block again and checks it: ~0.3 ms each, against ~0.06 ms for placing the two
matrices' entries side by side as ``bmat`` ends up doing (same dtype, index dtype, order of entries
and shape). Any other pair goes the stock way.

**Prediction.** Rasa 3.6 traces a model's prediction step once, as a ``tf.function`` with an input
signature (``RasaModel._rasa_predict``), so every later call runs the same concrete graph. Each call
still goes through ``tf.function``'s generic dispatch: the inputs are canonicalised against the
signature, the call is hashed into a cache key and the concrete function looked up: ~1.6 ms of CPU
per DIET prediction, against ~4 ms for the graph of the two-layer DIET and less than the dispatch for
the DIET without transformer layers that ``config.yml`` now uses (``bench/RESULTS.md``). Here, once
the graph is traced, a prediction converts its arrays as that dispatch does (``ops.convert_to_tensor``
with the signature's dtype as hint), checks them against the signature as it does, and calls the
concrete graph with its captured inputs, as the dispatch ends up doing. Anything else (no graph
traced yet, eager mode, inputs the signature does not accept) goes the stock way, which raises what
it raises.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

_LOGGER = logging.getLogger(__name__)

MEASURED_ON = "3.6.21"
"""The Rasa version this was measured on and is applied to (as the other fixes of ``bot.rasa``)."""
TENSORFLOW = "2.12.0"
"""The TensorFlow version whose ``tf.function`` dispatch the direct call reproduces."""
SCIPY = "1.10.1"
"""The SciPy version whose ``bmat`` the direct combination of features reproduces."""


def combine_sparse_features_directly() -> bool:
    """Make ``Features._combine_sparse_features`` join two COO matrices directly; False when not applied."""
    import numpy as np
    import rasa
    import scipy
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import coo_matrix
    from scipy.sparse._sputils import get_index_dtype, upcast

    if (rasa.__version__, scipy.__version__) != (MEASURED_ON, SCIPY):
        return False
    stock = Features._combine_sparse_features

    def side_by_side(left: Any, right: Any) -> Any:
        """``scipy.sparse.hstack([left, right])`` of two COO matrices with the same rows."""
        shape = (left.shape[0], left.shape[1] + right.shape[1])
        data = np.empty(left.nnz + right.nnz, dtype=upcast(left.dtype, right.dtype))
        index = get_index_dtype(maxval=max(shape))
        row, col = np.empty(len(data), dtype=index), np.empty(len(data), dtype=index)
        data[: left.nnz], data[left.nnz :] = left.data, right.data
        row[: left.nnz], row[left.nnz :] = left.row, right.row
        col[: left.nnz] = left.col
        np.add(right.col, left.shape[1], out=col[left.nnz :], dtype=index)
        return coo_matrix((data, (row, col)), shape=shape)

    def _combine_sparse_features(self: Any, additional_features: Any) -> None:
        left, right = self.features, additional_features.features
        if type(left) is not coo_matrix or type(right) is not coo_matrix or left.shape[0] != right.shape[0]:
            stock(self, additional_features)
            return
        self.features = side_by_side(left, right)
        self._cached_fingerprint = None

    Features._combine_sparse_features = _combine_sparse_features
    return True


def predict_through_traced_graph() -> bool:
    """Make ``RasaModel._rasa_predict`` call its traced graph directly; False when not applied."""
    import rasa
    import tensorflow as tf
    from keras.utils import tf_utils
    from rasa.shared.constants import DIAGNOSTIC_DATA
    from rasa.utils.tensorflow.models import RasaModel
    from tensorflow.python.framework import ops

    if (rasa.__version__, tf.__version__) != (MEASURED_ON, TENSORFLOW):
        _LOGGER.warning("Rasa %s, TensorFlow %s: stock prediction dispatch", rasa.__version__, tf.__version__)
        return False
    stock = RasaModel._rasa_predict
    graphs: weakref.WeakKeyDictionary[Any, tuple[Any, tuple[Any, ...]]] = weakref.WeakKeyDictionary()
    """Per traced ``tf.function``: its concrete graph and the flat input signature."""

    def traced(step: Any) -> tuple[Any, tuple[Any, ...]]:
        if step not in graphs:
            graphs[step] = (step.get_concrete_function(), tuple(tf.nest.flatten(step.input_signature)))
        return graphs[step]

    def inputs(batch_in: Any, signature: tuple[Any, ...]) -> list[Any] | None:
        """``batch_in`` as the signature's tensors, or None when the stock dispatch must judge it."""
        if not isinstance(batch_in, (tuple, list)) or len(batch_in) != len(signature):
            return None
        tensors = []
        for value, spec in zip(batch_in, signature, strict=True):
            if tf.is_tensor(value) or not hasattr(value, "__array__"):
                return None
            tensor = ops.convert_to_tensor(value, dtype_hint=spec.dtype)  # as the dispatch converts
            if not spec.is_compatible_with(tensor):
                return None
            tensors.append(tensor)
        return tensors

    def _rasa_predict(self: Any, batch_in: Any) -> Any:
        step = self._tf_predict_step
        if step is None or self._run_eagerly or not self.prepared_for_prediction:
            return stock(self, batch_in)
        graph, signature = traced(step)
        tensors = inputs(batch_in, signature)
        if tensors is None:
            return stock(self, batch_in)
        self._training = False
        outputs = tf_utils.sync_to_numpy_or_python_type(
            graph._call_flat(tensors, captured_inputs=graph.captured_inputs)
        )
        if DIAGNOSTIC_DATA in outputs:
            outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
        return outputs

    RasaModel._rasa_predict = _rasa_predict
    return True
