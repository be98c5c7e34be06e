"""Running code in the engine environment (Rasa 3.6 on Python 3.10) from the app environment's tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.rasa.training import engine_env, train

STORY_HISTORIES = r"""
import copy
from rasa.core.training import load_data
from rasa.shared.core.events import (ActionExecuted, ActionReverted, Restarted, UserUttered,
                                     UserUtteranceReverted)
stories = [t for folder in ("data/stories", "data/rules")
           for t in load_data(folder, domain, augmentation_factor=0, use_story_concatenation=False)]
def as_predicted(events, hide):
    # Stories' events as a live conversation has them: the user's words with each intent and (for
    # rules) rule-only turns marked hidden, as RulePolicy marks them.
    out = []
    for n, event in enumerate(events):
        event = copy.copy(event)
        if isinstance(event, UserUttered) and event.intent_name and not event.text:
            event.text = "说" + event.intent_name
            event.use_text_for_featurization = None  # undecided, as for a message just parsed
        if hide and isinstance(event, ActionExecuted) and event.action_name != "action_listen":
            event.hide_rule_turn = n % 3 != 0
        out.append(event)
    return out

histories = [as_predicted(list(t.events), t.is_rule_tracker) for t in stories if len(t.events) > 2]
def rewound(events, n):
    # The history with a rewind, an undone action or a restart after each user message.
    out, users = [], 0
    for event in events:
        out.append(event)
        if isinstance(event, UserUttered):
            users += 1
            out.append([UserUtteranceReverted, ActionReverted, Restarted][(users + n) % 3]())
    return out

histories += [rewound(events, n) for n, events in enumerate(histories)]
"""
"""Script lines for the engine environment: with ``domain`` (a loaded ``Domain``) defined, they set
``histories``: every story and rule of ``data/`` as a live conversation has its events, then each of
them again with a rewind, an undone action or a restart after every user message."""


def run_engine(script: str, *args: str, stdin: str | None = None, timeout: float = 300) -> dict[str, Any]:
    """Run ``script`` with the engine's Python in the project folder; its last line of output, as JSON."""
    config = load_config()
    result = subprocess.run(
        [str(config.engine_venv / "bin" / "python"), "-c", script, *args],
        input=stdin,
        cwd=config.project_dir,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def trained_model() -> Path:
    """The skill's trained model (trained first when it is missing or stale, as a stack's start does)."""
    return train(load_config())[0]
