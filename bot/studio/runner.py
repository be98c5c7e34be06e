"""Run outcome-level conversation tests: each case in a fresh sandbox household, turn by turn.

The caller supplies ``say`` (a device token and a text → the ``POST /api/v1/converse`` body): the
tests post to a real gateway over HTTP, the studio calls its own turn runner. Either way every turn
goes through the real Rasa server and action server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.errors import BotError
from bot.store.db import utcnow
from bot.studio import sandbox
from bot.studio.cases import KINDS, Case, TurnResult, check_turn

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
Say = Callable[[str, str], Awaitable[dict[str, Any]]]
"""(device token, text) → the converse response body."""
Forget = Callable[[tuple[str, ...]], Awaitable[None]]
"""Erases Rasa's trackers of the given conversations (the gateway's tracker eraser)."""


@dataclass(frozen=True)
class CaseResult:
    """A case as it ran: its turns (up to the first failing one) or the error that stopped it."""

    name: str
    source: str
    turns: tuple[TurnResult, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """No error and no failed expectation."""
        return self.error is None and all(not t.failures for t in self.turns)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the studio)."""
        return {**dataclasses.asdict(self), "ok": self.ok}


async def run_case(
    engine: Engine, tenant_id: str, case: Case, say: Say, forget: Forget | None = None
) -> CaseResult:
    """Create the case's sandbox, say each turn, check it; stop at the first failing turn. The
    sandbox is removed afterwards, whatever happened (its trackers through ``forget``)."""
    try:
        box = await asyncio.to_thread(_sandbox, engine, tenant_id, case)
    except BotError as err:
        return CaseResult(case.name, case.source, (), err.message)
    try:
        return await _turns(engine, case, box, say)
    finally:
        await discard(engine, box.household_id, forget)


async def discard(engine: Engine, household_id: int, forget: Forget | None = None) -> None:
    """Remove a sandbox household: its trackers (through ``forget``), then every row of it. Trackers
    Rasa cannot erase now (it is stopping) hold only sandbox words: the rows go all the same."""
    if forget is not None:
        conversations = await asyncio.to_thread(_in_session, engine, sandbox.conversations, household_id)
        try:
            await forget(conversations)
        except BotError as err:
            _LOGGER.info("sandbox trackers not erased: %s", err.code)
    await asyncio.to_thread(_in_session, engine, sandbox.remove, household_id)


async def _turns(engine: Engine, case: Case, box: sandbox.Sandbox, say: Say) -> CaseResult:
    done: list[TurnResult] = []
    for turn in case.turns:
        body = await say(box.token, turn.user)
        if "error" in body:
            return CaseResult(case.name, case.source, tuple(done), f"{turn.user!r}: {body['error']}")
        state = await asyncio.to_thread(_in_session, engine, sandbox.snapshot, box.household_id)
        result = check_turn(turn, body, state)
        done.append(result)
        if result.failures:
            break
    return CaseResult(case.name, case.source, tuple(done))


async def run_cases(
    engine: Engine,
    tenant_id: str,
    cases: Iterable[Case],
    say: Say,
    progress: Callable[[CaseResult], None] | None = None,
    forget: Forget | None = None,
) -> list[CaseResult]:
    """Run cases one after another (a device's turns are serial anyway), reporting each."""
    results = []
    for case in cases:
        result = await run_case(engine, tenant_id, case, say, forget)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def describe(result: CaseResult) -> str:
    """A failing case as readable text: what was expected, and what the assistant actually said."""
    lines = [f"{'ok' if result.ok else 'FAILED'}: {result.name} ({result.source})"]
    if result.error:
        lines.append(f"  error: {result.error}")
    for turn in result.turns:
        if not turn.failures:
            continue
        lines.append(f"  user: {turn.user}")
        lines += [f"  expected: {f}" for f in turn.failures]
        lines += [f"  actual reply: {t}" for t in turn.texts]
        lines += [f"  actual card: {c.get('type')} {brief(c)}" for c in turn.cards]
    return "\n".join(lines)


def brief(card: Mapping[str, Any]) -> dict[str, Any]:
    """A card's fields for a report: long lists (series, schedules, options) as their length."""
    out: dict[str, Any] = {}
    for key, value in card.items():
        if isinstance(value, list) and len(value) > 3:
            out[key] = f"[{len(value)} items]"
        else:
            out[key] = value
    return out


def _sandbox(engine: Engine, tenant_id: str, case: Case) -> sandbox.Sandbox:
    given = dataclasses.asdict(case.given)
    with Session(engine, expire_on_commit=False) as session:
        tenant = case.tenant or tenant_id
        return sandbox.create(session, tenant, case.household, KINDS[case.kind], utcnow(), given)


def _in_session(engine: Engine, work: Callable[[Session, int], _T], household_id: int) -> _T:
    with Session(engine) as session:
        return work(session, household_id)
