"""The studio's checks as background jobs of the gateway: conversation tests, data validation and
the held-out NLU evaluation, each polled for progress (``/api/v1/studio/checks``)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlmodel import Session

from bot.conversation.turns import TurnRequest
from bot.errors import BotError, InputError
from bot.gateway.jobs import TRACKERS
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, RUNNER
from bot.nlu.evaluate import Example, render, score
from bot.nlu.normalize import checked_turn_text
from bot.rasa.stories_check import validate
from bot.store.repo import Principal, authenticate
from bot.studio.cases import DEFAULT_TENANT, Case, load_cases, parse_cases
from bot.studio.runner import CaseResult, describe, run_cases
from bot.studio.workspace import Workspace

CASES_DIR = "tests/conversations"
HELDOUT_ACCURACY = 0.95
"""Held-out intent accuracy below which the check fails (the bar of tests/test_nlu_heldout.py)."""
MAX_JOBS = 20
"""Finished check jobs kept per gateway (the oldest are forgotten)."""
_LOGGER = logging.getLogger(__name__)


@dataclass
class Job:
    """A check run from the page, polled for progress."""

    tenant_id: str
    kind: str
    total: int
    results: list[dict[str, Any]] = field(default_factory=list)
    """One per conversation case, or one report for the other kinds."""
    done: int = 0
    state: str = "running"
    error: str | None = None


@dataclass
class Jobs:
    """Check jobs by id, and the tasks running them."""

    by_id: dict[str, Job] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


JobBody = Callable[[Job], Awaitable[None]]


def start(jobs: Jobs, job: Job, body: JobBody) -> str:
    """Run ``body`` as a background task of the gateway; returns the job id."""
    job_id = secrets.token_hex(8)
    _remember(jobs, job_id, job)

    async def run() -> None:
        try:
            await body(job)
            job.state = "done"
        except Exception as err:  # a job reports its failure instead of dying silently
            _LOGGER.warning("studio %s check failed: %s", job.kind, type(err).__name__)
            job.state, job.error = "failed", type(err).__name__

    task = asyncio.create_task(run())
    jobs.tasks.add(task)
    task.add_done_callback(jobs.tasks.discard)
    return job_id


def cases_for(app: web.Application, text: Any, tenant_id: str) -> list[Case]:
    """The designer's cases (``text``) or the project's, of this tenant only."""
    project = app[CONFIG].project_dir
    try:
        cases = (
            parse_cases(text, "studio")
            if isinstance(text, str) and text.strip()
            else load_cases(project / CASES_DIR)
        )
    except (ValueError, AttributeError) as err:
        raise InputError(f"测试格式有误：{err}", code="bad_case") from err
    return [c for c in cases if (c.tenant or DEFAULT_TENANT) == tenant_id]


def run_conversations(app: web.Application, cases: list[Case]) -> JobBody:
    """Each case in its own sandbox household, through this gateway's turn runner."""

    async def say(token: str, text: str) -> dict[str, Any]:
        def lookup() -> Principal:
            with Session(app[ENGINE]) as session:
                return authenticate(session, token)

        device = (await asyncio.to_thread(lookup)).device()
        try:
            return await app[RUNNER].run(TurnRequest(device, checked_turn_text(text), None))
        except BotError as err:
            return err.to_json()

    async def body(job: Job) -> None:
        def progress(result: CaseResult) -> None:
            job.results.append({**result.as_dict(), "report": describe(result)})
            job.done += 1

        await run_cases(app[ENGINE], job.tenant_id, cases, say, progress, app[TRACKERS].erase)

    return body


def run_validate(app: web.Application, ws: Workspace) -> JobBody:
    """``rasa data validate`` on the working copy."""

    async def body(job: Job) -> None:
        ws.ensure()
        ok, warnings = await asyncio.to_thread(
            validate, app[CONFIG], ws.root / "domain.yml", ws.root / "data"
        )
        report = "rasa data validate: " + ("ok" if ok else "FAILED") + "".join(f"\n  {w}" for w in warnings)
        job.results.append({"name": "rasa data validate", "ok": ok, "report": report})
        job.done = 1

    return body


def run_heldout(app: web.Application, examples: list[Example]) -> JobBody:
    """Parse every held-out example with the running model and score the parses."""

    async def body(job: Job) -> None:
        parses: dict[str, dict[str, Any]] = {}
        for example in examples:
            parses[example.text] = await app[DIALOGUE].parse(checked_turn_text(example.text))
            job.done += 1
        report = score(examples, lambda text: parses[text])
        ok = report.intent_accuracy >= HELDOUT_ACCURACY
        text = "运行中模型的留出集评测（不含工作副本的改动）\n" + render(report)
        job.results.append({"name": "NLU 留出集评测", "ok": ok, "report": text, **report.summary()})

    return body


def _remember(jobs: Jobs, job_id: str, job: Job) -> None:
    jobs.by_id[job_id] = job
    while len(jobs.by_id) > MAX_JOBS:
        oldest = next(iter(jobs.by_id))
        if jobs.by_id[oldest].state == "running":
            break
        del jobs.by_id[oldest]
