"""``rasa test``: the conversation tests (tests/test_*.yml) pass against the trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.rasa.stories_check import run_conversation_tests, unused_intents

pytestmark = pytest.mark.stack

MIN_STORIES = 40


def test_every_conversation_test_passes(tmp_path: Path) -> None:
    run = run_conversation_tests(load_config(), tmp_path, fail_fast=True)
    assert run.stories >= MIN_STORIES
    assert run.ok, f"failed stories: {run.failed}\n" + "\n".join(run.output.splitlines()[-40:])


def test_every_contract_intent_is_exercised_by_a_story_or_rule() -> None:
    assert unused_intents(load_config().project_dir) == []
