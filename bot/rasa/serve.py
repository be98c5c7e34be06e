"""Rasa's own CLI (``rasa run …``) in the engine environment, with measured fixes for Rasa 3.6.21.

Run from the engine environment through :func:`isolated_command` (``bot.stack.up`` does): Python in
isolated mode (``-I``: neither the working folder nor ``PYTHONPATH`` on ``sys.path``) with only the
project folder added, so the folder Rasa runs in (an installed bundle) cannot shadow a module; the
secret of Rasa's HTTP API comes from the environment (``BOT_RASA_AUTH_TOKEN``), not the command line,
and is checked as a JWT in the ``Authorization`` header, never as a query parameter.
The first two were found with py-spy on the Rasa server under load (issue 9, ``bench/RESULTS.md``);
all change no result, only its cost:

1. After every custom action, Rasa checks the action server's answer with
   ``jsonschema.validate(result, schema)``, which first validates the constant schema itself against
   the JSON-Schema metaschema: ~35 ms of CPU per action call, about half of Rasa's CPU per turn;
   validating the answer takes ~2 ms. Here the schema is checked once and its validator reused:
   every answer is still validated against the same schema and an invalid one raises the same
   ``ValidationError`` with Rasa's message. Since issue 23 a valid answer is recognised event by
   event (:class:`EventwiseValidator`, ~1.3 → ~0.14 ms for a seven-event answer); any answer it does
   not find valid goes through the full validator as before.
2. Reading a tracker deserialises every event, and each one looks up its class by walking all
   subclasses of ``Event`` (~10 % of Rasa's CPU). Here the lookup is a dictionary, rebuilt when a
   name is missing (a class imported later); names Rasa does not know behave as before.

3. Smaller action calls (issue 23, ``bot.rasa.action_calls``): the domain is sent once (then its
   digest), the tracker's events from the user message before the latest one, and a ``SlotSet``
   that repeats a slot's value is not added to the tracker.
4. Dialogue states replayed once per turn (issue 23, ``bot.rasa.states``): the policies' four
   replays of the whole conversation per turn become one, extended by the events added since.
5. A turn reuses the NLU result of a ``/model/parse`` of the same text made just before (issue 19:
   the gateway parses the recogniser's final while the endpointer still waits for silence), instead
   of running the NLU graph again. It is the same function of the same input: the result is reused
   only when the loaded model's NLU reads nothing but the message (no node of it needs the
   tracker), for the same text and metadata, by the same model (a reloaded model starts afresh),
   once, within ``PARSE_MEMO_TTL_S``; otherwise the message is parsed as stock.
6. Recent conversations kept as event objects in the in-memory tracker store (issue 23,
   ``bot.rasa.kept_trackers``): a turn no longer dumps and reloads the whole conversation as JSON,
   and the dialogue states of fix 4 continue from the previous turn's replay.
7. A tracker's applied events worked out once per turn (issue 23, ``bot.rasa.applied_events``):
   later calls in the same turn go through the new events only.
8. DIET's inference without generic dispatch (issue 23, ``bot.rasa.inference``): two COO matrices
   of sparse features are joined directly rather than through ``scipy.sparse.bmat``, and the
   TensorFlow prediction calls its traced graph without ``tf.function``'s dispatch on every parse.
9. Rasa's graphs run without dask's scheduler (issue 23, ``bot.rasa.graph_runs``): the components of
   a parse or a prediction are called in order, each once, instead of through ``dask.get``.

The fixes apply only to the Rasa version they were measured on; any other version runs unchanged
(and says so in its log).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

MEASURED_ON = "3.6.21"
TOKEN_ENV = "BOT_RASA_AUTH_TOKEN"
"""The secret of Rasa's HTTP API, passed in the environment so ``ps`` does not show it. It becomes
Rasa's ``--jwt-secret`` (callers send a JWT in a header: ``bot.conversation.rasa_auth``), never its
``--auth-token``, which Rasa 3.6 would accept only in a query string."""
PARSE_MEMO_SIZE = 256
"""Parse results kept for a turn to reuse (the oldest go first)."""
PARSE_MEMO_TTL_S = 30.0
"""A parse result older than this is not reused."""
REUSED = "NLU result of an earlier parse of the same text reused"
"""Logged (without the text) each time a turn reuses a parse."""


def isolated_command(python: Path, project_dir: Path, args: list[str]) -> list[str]:
    """``python -I`` running :func:`main` with ``args``; ``sys.path`` is the engine's plus ``project_dir``."""
    boot = f"import sys; sys.path.insert(0, {str(project_dir)!r}); from bot.rasa.serve import main; main()"
    return [str(python), "-I", "-W", "ignore", "-c", boot, *args]


class EventwiseValidator:
    """Decides what ``validator.is_valid(result)`` decides for the action-response schema, cheaper.

    Rasa's event schema is a ``oneOf`` over every event type, each alternative pinning ``event`` to a
    distinct constant. For an event whose ``event`` is a string, at most one alternative can hold, so
    the event is valid exactly when the schema without its ``oneOf`` holds and the alternative named
    by ``event`` holds; this checks just those two (jsonschema's ``oneOf`` tries all 23 and builds an
    error for each that fails). Anything else, and every answer found invalid, is left to the full
    validator, which also words the error.
    """

    def __init__(self, validator_class: Any, schema: dict[str, Any]):
        events = schema["properties"]["events"]
        event_schema = events["items"]
        self._answer = validator_class(
            {**schema, "properties": {**schema["properties"], "events": {"type": events["type"]}}}
        )
        self._event = validator_class({k: v for k, v in event_schema.items() if k != "oneOf"})
        self._kinds: dict[str, Any] = {}
        for alternative in event_schema["oneOf"]:
            name = alternative["properties"]["event"]["const"]
            if not isinstance(name, str) or name in self._kinds:
                raise ValueError(f"event schema alternatives are not told apart by name: {name!r}")
            self._kinds[name] = validator_class(alternative)

    def valid(self, result: Any) -> bool:
        """True when the answer certainly satisfies the schema; False: ask the full validator."""
        if not self._answer.is_valid(result):
            return False
        for event in result.get("events", ()) if isinstance(result, dict) else ():
            name = event.get("event") if isinstance(event, dict) else None
            kind = self._kinds.get(name) if isinstance(name, str) else None
            if kind is None or not self._event.is_valid(event) or not kind.is_valid(event):
                return False
        return True


def reuse_action_result_validator() -> bool:
    """Make ``RemoteAction._validate_action_result`` reuse one validator; False when not applied."""
    import rasa
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if rasa.__version__ != MEASURED_ON:
        _LOGGER.warning("Rasa %s is not %s: action results validated as stock", rasa.__version__, MEASURED_ON)
        return False
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    eventwise = EventwiseValidator(validator_class, schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if eventwise.valid(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            "For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = validate_action_result
    return True


def index_event_types() -> bool:
    """Make ``Event.resolve_by_type`` a dictionary lookup; False when not applied."""
    import rasa
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if rasa.__version__ != MEASURED_ON:
        return False
    stock = Event.resolve_by_type
    by_name: dict[str, type[Event]] = {}

    def index() -> None:
        by_name.clear()
        for cls in all_subclasses(Event):
            by_name.setdefault(cls.type_name, cls)  # the first match, as Rasa's own loop

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        if type_name not in by_name:
            index()
        found = by_name.get(type_name)
        return found if found is not None else stock(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)
    return True


class ParseMemo:
    """Parse results of tracker-less parses (``/model/parse``), each taken at most once by a turn."""

    def __init__(self, size: int = PARSE_MEMO_SIZE, ttl_s: float = PARSE_MEMO_TTL_S):
        self._size, self._ttl = size, ttl_s
        self._items: OrderedDict[tuple[str, ...], tuple[float, dict[str, Any]]] = OrderedDict()

    def put(self, key: tuple[str, ...], parsed: dict[str, Any]) -> None:
        """Keep a copy of ``parsed``."""
        self._items.pop(key, None)
        self._items[key] = (time.monotonic(), copy.deepcopy(parsed))
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def take(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        """The result kept for ``key`` (then forgotten), or None when there is none or it is too old."""
        found = self._items.pop(key, None)
        if found is None or time.monotonic() - found[0] > self._ttl:
            return None
        return found[1]


def nlu_reads_only_the_message(schema: Any, target: str) -> bool:
    """Whether no node that the NLU ``target`` depends on needs the tracker."""
    from rasa.engine.constants import PLACEHOLDER_TRACKER

    seen: set[str] = set()
    todo = [target]
    while todo:
        node = schema.nodes.get(todo.pop())
        for need in node.needs.values() if node is not None else ():
            if need == PLACEHOLDER_TRACKER:
                return False
            if need not in seen:
                seen.add(need)
                todo.append(need)
    return True


def memo_key(message: Any, only_output_properties: bool) -> tuple[str, ...]:
    """What a parse result depends on besides the model: the text, the metadata, the output form."""
    metadata = json.dumps(message.metadata, sort_keys=True, default=str)
    return (message.text or "", metadata, str(only_output_properties))


def reuse_parses() -> bool:
    """Make a turn reuse a ``/model/parse`` result of the same text (fix 5); False when not applied."""
    import rasa
    from rasa.core.processor import MessageProcessor

    if rasa.__version__ != MEASURED_ON:
        return False
    stock = MessageProcessor.parse_message
    memos: weakref.WeakKeyDictionary[Any, ParseMemo | None] = weakref.WeakKeyDictionary()
    """One memo per processor, i.e. per loaded model (None: that model's NLU reads the tracker)."""

    def memo_of(processor: Any) -> ParseMemo | None:
        if processor not in memos:
            metadata = processor.model_metadata
            pure = processor.http_interpreter is None and nlu_reads_only_the_message(
                metadata.predict_schema, metadata.nlu_target
            )
            memos[processor] = ParseMemo() if pure else None
            if not pure:
                _LOGGER.warning("this model's NLU reads more than the message: parses are not reused")
        return memos[processor]

    async def parse_message(
        self: Any, message: Any, tracker: Any = None, only_output_properties: bool = True
    ) -> dict[str, Any]:
        memo = memo_of(self)
        key = memo_key(message, only_output_properties)
        if memo is not None and tracker is not None and (earlier := memo.take(key)) is not None:
            _LOGGER.info(REUSED)
            self._check_for_unseen_features(earlier)
            return earlier
        parsed: dict[str, Any] = await stock(self, message, tracker, only_output_properties)
        if memo is not None and tracker is None:  # /model/parse: no conversation
            memo.put(key, parsed)
        return parsed

    MessageProcessor.parse_message = parse_message
    return True


def main(argv: list[str] | None = None) -> None:
    """``rasa`` with the fixes applied."""
    from rasa.__main__ import main as rasa_main

    from bot.rasa.action_calls import smaller_action_calls
    from bot.rasa.applied_events import remember_applied_events
    from bot.rasa.graph_runs import run_graphs_in_order
    from bot.rasa.inference import combine_sparse_features_directly, predict_through_traced_graph
    from bot.rasa.kept_trackers import keep_recent_conversations
    from bot.rasa.states import replay_once_per_turn

    reuse_action_result_validator()
    index_event_types()
    smaller_action_calls()
    replay_once_per_turn()
    reuse_parses()
    keep_recent_conversations()
    remember_applied_events()
    combine_sparse_features_directly()
    predict_through_traced_graph()
    run_graphs_in_order()
    args = list(sys.argv[1:] if argv is None else argv)
    token = os.environ.pop(TOKEN_ENV, "")
    if token:  # one item each: a secret may start with "-"
        args += [f"--jwt-secret={token}", "--jwt-method=HS256"]
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
