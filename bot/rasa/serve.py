"""Rasa's own CLI (``rasa run …``) in the engine environment, with two measured fixes for Rasa 3.6.21.

Run from the engine environment through :func:`isolated_command` (``bot.stack.up`` does): Python in
isolated mode (``-I``: neither the working folder nor ``PYTHONPATH`` on ``sys.path``) with only the
project folder added, so the folder Rasa runs in (an installed bundle) cannot shadow a module; the
secret of Rasa's HTTP API comes from the environment (``BOT_RASA_AUTH_TOKEN``), not the command line,
and is checked as a JWT in the ``Authorization`` header, never as a query parameter.
Both were found with py-spy on the Rasa server under load (issue 9, ``bench/RESULTS.md``) and change
no result, only its cost:

1. After every custom action, Rasa checks the action server's answer with
   ``jsonschema.validate(result, schema)``, which first validates the constant schema itself against
   the JSON-Schema metaschema: ~35 ms of CPU per action call, about half of Rasa's CPU per turn;
   validating the answer takes ~2 ms. Here the schema is checked once and its validator reused:
   every answer is still validated against the same schema and an invalid one raises the same
   ``ValidationError`` with Rasa's message.
2. Reading a tracker deserialises every event, and each one looks up its class by walking all
   subclasses of ``Event`` (~10 % of Rasa's CPU). Here the lookup is a dictionary, rebuilt when a
   name is missing (a class imported later); names Rasa does not know behave as before.

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
"""The secret of Rasa's HTTP API, passed in the environment so ``ps`` does not show it. It becomes
Rasa's ``--jwt-secret`` (callers send a JWT in a header: ``bot.conversation.rasa_auth``), never its
``--auth-token``, which Rasa 3.6 would accept only in a query string."""


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

    reuse_action_result_validator()
    index_event_types()
    args = list(sys.argv[1:] if argv is None else argv)
    token = os.environ.pop(TOKEN_ENV, "")
    if token:  # one item each: a secret may start with "-"
        args += [f"--jwt-secret={token}", "--jwt-method=HS256"]
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
