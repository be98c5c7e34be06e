"""Rasa's graphs run without dask's scheduler, for Rasa 3.6.21 (applied at start-up by
``bot.rasa.serve``; issue 23).

Measured on the running stack (py-spy under saturation, ``bench/RESULTS.md``): every parse and every
prediction runs a graph of Rasa components through ``dask.get``, whose scheduler (ordering, task
states, a queue and an executor for each node, even with one thread) took ~6 % of Rasa's CPU, for
graphs of 5 to 16 nodes that each call one component. In one process a prediction took ~0.41 ms
through dask and ~0.26 ms without it.

Here ``DaskGraphRunner.run`` is stock's, except that a graph made only of what Rasa puts in it —
a node as a task (a callable and the names of the nodes it needs) and an input as a
``(name, value)`` pair — is computed by :func:`computed`: each node once, in the order dask's
synchronous scheduler runs them (ascending ``dask.order.order`` priority, worked out once for each
shape of graph), with the values dask would give it (a needed name that is not in the graph is
passed as it is, as dask passes it). Any other graph goes to ``dask.get``. Results, the order of
the components' calls and errors are stock's (``tests/test_rasa_graph_runs.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MEASURED_ON = "3.6.21"
SCHEDULES_KEPT = 64
"""Orders of execution kept (one per shape of graph: a parse, a prediction, …)."""


def is_task(value: Any) -> bool:
    """dask's test for a task: a non-empty tuple whose first item is callable."""
    return type(value) is tuple and bool(value) and callable(value[0])


def plain(graph: Mapping[str, Any]) -> bool:
    """Whether every value is a task whose arguments are names, or an input's ``(name, value)``."""
    for value in graph.values():
        if is_task(value):
            if not all(isinstance(arg, str) for arg in value[1:]):
                return False
        elif not (type(value) is tuple and len(value) == 2 and isinstance(value[0], str)):
            return False
    return True


class Schedules:
    """dask's order of execution for each shape of graph (its names and what each node needs)."""

    def __init__(self, size: int = SCHEDULES_KEPT) -> None:
        self._size = size
        self._orders: dict[tuple[Any, ...], list[str]] = {}

    def order(self, graph: Mapping[str, Any]) -> list[str]:
        """The names of ``graph`` in the order dask's synchronous scheduler runs them."""
        from dask.order import order

        shape = tuple((key, value[1:] if is_task(value) else None) for key, value in graph.items())
        found = self._orders.get(shape)
        if found is None:
            priorities = order(dict(graph))
            found = sorted(priorities, key=priorities.__getitem__)
            if len(self._orders) >= self._size:
                self._orders.clear()
            self._orders[shape] = found
        return found


def computed(graph: Mapping[str, Any], targets: Sequence[str], schedule: Sequence[str]) -> tuple[Any, ...]:
    """The values of ``targets`` in a :func:`plain` graph: every node computed once, in ``schedule``
    order, from the values of the names it needs (a name not in the graph passed as it is)."""
    done: dict[str, Any] = {}
    for key in schedule:
        task = graph[key]
        if is_task(task):
            function: Callable[..., Any] = task[0]
            done[key] = function(*(done[arg] if arg in graph else arg for arg in task[1:]))
        else:
            done[key] = task
    return tuple(done[target] for target in targets)


def run_graphs_in_order() -> bool:
    """Adapt ``DaskGraphRunner.run`` as described above; False on another Rasa version."""
    import dask
    import rasa
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    if rasa.__version__ != MEASURED_ON:
        return False
    schedules = Schedules()

    def run(
        self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        # Rasa 3.6.21's DaskGraphRunner.run, with ``computed`` for a plain graph
        run_targets = targets if targets else self._graph_schema.target_names
        minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
        run_graph = self._build_dask_graph(minimal_schema)
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        try:
            if plain(run_graph) and all(target in run_graph for target in run_targets):
                return dict(computed(run_graph, run_targets, schedules.order(run_graph)))
            return dict(dask.get(run_graph, run_targets))
        except RuntimeError as err:
            raise GraphRunError("Error running runner.") from err

    DaskGraphRunner.run = run
    return True
