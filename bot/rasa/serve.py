"""Rasa's own CLI (``rasa run …``) in the engine environment, with measured fixes for Rasa 3.6.21.

Run from the engine environment through :func:`isolated_command` (``bot.stack.up`` does): Python in
isolated mode (``-I``: neither the working folder nor ``PYTHONPATH`` on ``sys.path``) with only the
project folder added, so the folder Rasa runs in (an installed bundle) cannot shadow a module; Rasa's
API token comes from the environment (``BOT_RASA_AUTH_TOKEN``), not the command line.
The first two were found with py-spy on the Rasa server under load (issue 9, ``bench/RESULTS.md``);
all change no result, only its cost:

1. After every custom action, Rasa checks the action server's answer with
   ``jsonschema.validate(result, schema)``, which first validates the constant schema itself against
   the JSON-Schema metaschema: ~35 ms of CPU per action call, about half of Rasa's CPU per turn;
   validating the answer takes ~2 ms. Here the schema is checked once and its validator reused:
   every answer is still validated against the same schema and an invalid one raises the same
   ``ValidationError`` with Rasa's message.
2. Reading a tracker deserialises every event, and each one looks up its class by walking all
   subclasses of ``Event`` (~10 % of Rasa's CPU). Here the lookup is a dictionary, rebuilt when a
   name is missing (a class imported later); names Rasa does not know behave as before.

3. Smaller action calls (issue 23, ``bot.rasa.action_calls``): the domain is sent once (then its
   digest), the tracker's events from the user message before the latest one, and a ``SlotSet``
   that repeats a slot's value is not added to the tracker.
4. Dialogue states replayed once per turn (issue 23, ``bot.rasa.states``): the policies' four
   replays of the whole conversation per turn become one, extended by the events added since.

The fixes apply only to the Rasa version they were measured on; any other version runs unchanged
(and says so in its log).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

MEASURED_ON = "3.6.21"
TOKEN_ENV = "BOT_RASA_AUTH_TOKEN"
"""Rasa's ``--auth-token``, passed in the environment so ``ps`` does not show it."""


def isolated_command(python: Path, project_dir: Path, args: list[str]) -> list[str]:
    """``python -I`` running :func:`main` with ``args``; ``sys.path`` is the engine's plus ``project_dir``."""
    boot = f"import sys; sys.path.insert(0, {str(project_dir)!r}); from bot.rasa.serve import main; main()"
    return [str(python), "-I", "-W", "ignore", "-c", boot, *args]


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

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
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


def main(argv: list[str] | None = None) -> None:
    """``rasa`` with the fixes applied."""
    from rasa.__main__ import main as rasa_main

    from bot.rasa.action_calls import smaller_action_calls
    from bot.rasa.states import replay_once_per_turn

    reuse_action_result_validator()
    index_event_types()
    smaller_action_calls()
    replay_once_per_turn()
    args = list(sys.argv[1:] if argv is None else argv)
    token = os.environ.pop(TOKEN_ENV, "")
    if token:
        args.append(f"--auth-token={token}")  # one item: a token may start with "-"
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
