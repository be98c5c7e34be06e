"""Outcome-level conversation tests (``tests/conversations/*.yml``) through the real stack.

Each case runs in a fresh sandbox copy of its household on the session's shared stack (real Rasa
server, action server and gateway on a scratch copy of the demo database) and fails with what the
assistant actually said. ``docs/designing.md`` documents the format.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.store.db import make_engine
from bot.studio.cases import Case, load_cases
from bot.studio.runner import describe, run_case
from bot.testing.harness import RunningStack

FOLDER = Path(__file__).resolve().parent / "conversations"
CASES = load_cases(FOLDER)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.stack
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conversation(shared_stack: RunningStack, case: Case) -> None:
    async def say(token: str, text: str) -> dict[str, Any]:
        _, body = await asyncio.to_thread(shared_stack.converse, token, text)
        return body

    engine = make_engine(shared_stack.db_url)
    try:
        result = asyncio.run(run_case(engine, "demo", case, say))
    finally:
        engine.dispose()
    assert result.ok, describe(result)
