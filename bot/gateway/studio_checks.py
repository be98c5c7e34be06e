"""The studio's checks as background jobs of the gateway: conversation tests, data validation, the
held-out NLU evaluation, and training the working copy's model into the sandbox, each polled for
progress (``/api/v1/studio/checks``)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlmodel import Session

from bot.conversation.turns import TurnRequest
from bot.errors import BotError, InputError
from bot.gateway import studio_sandbox
from bot.gateway.keys import CONFIG, ENGINE
from bot.nlu.evaluate import Example, render, score
from bot.nlu.normalize import checked_turn_text
from bot.progress import Progress
from bot.rasa import studio_server
from bot.rasa.progress import Stage
from bot.rasa.stories_check import validate
from bot.rasa.training import fingerprint, train_copy
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
    stage: str = ""
    """Training: what Rasa is doing now (``bot.rasa.progress.Stage``)."""
    fraction: float = 0.0
    """Training: of the whole run, 0–1."""
    detail: str = ""
    started: float = field(default_factory=time.monotonic)

    def progress(self) -> dict[str, Any]:
        """Stage, fraction and elapsed seconds (JSON)."""
        elapsed = round(time.monotonic() - self.started, 1)
        return {"stage": self.stage, "fraction": self.fraction, "detail": self.detail, "elapsed_s": elapsed}


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
            runner = studio_sandbox.rasa_for(app, device.tenant_id).runner
            return await runner.run(TurnRequest(device, checked_turn_text(text), None))
        except BotError as err:
            return err.to_json()

    async def body(job: Job) -> None:
        def progress(result: CaseResult) -> None:
            job.results.append({**result.as_dict(), "report": describe(result)})
            job.done += 1

        forget = studio_sandbox.forgetter(app, job.tenant_id)
        await run_cases(app[ENGINE], job.tenant_id, cases, say, progress, forget)

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
    """Parse every held-out example with the sandbox's model and score the parses."""

    async def body(job: Job) -> None:
        rasa = studio_sandbox.rasa_for(app, job.tenant_id)
        parses: dict[str, dict[str, Any]] = {}
        for example in examples:
            parses[example.text] = await rasa.dialogue.parse(checked_turn_text(example.text))
            job.done += 1
        report = score(examples, lambda text: parses[text])
        ok = report.intent_accuracy >= HELDOUT_ACCURACY
        which = f"沙盒模型 {rasa.model}（工作副本训练）" if rasa.model else "运行中模型（不含工作副本的改动）"
        text = f"{which}的留出集评测\n" + render(report)
        job.results.append({"name": "NLU 留出集评测", "ok": ok, "report": text, **report.summary()})

    return body


def run_train(app: web.Application, ws: Workspace, swapped: Callable[[str], Awaitable[None]]) -> JobBody:
    """Train the working copy's model (only when it differs from the project and no model of its
    current inputs exists), then serve it on the tenant's studio Rasa server; ``swapped`` hears the
    tenant whose sandboxes now talk to a new model."""
    config = app[CONFIG]

    async def body(job: Job) -> None:
        ws.ensure()
        project = await asyncio.to_thread(fingerprint, config.project_dir)
        if await asyncio.to_thread(fingerprint, config.project_dir, ws.root) == project:
            text = "工作副本与项目文件相同：没有改动，不需要训练；沙盒继续用运行中的模型。"
            job.results.append({"name": "训练", "ok": True, "report": text, "trained": False})
            job.done = 1
            return

        def progress(event: Progress) -> None:
            job.stage, job.fraction, job.detail = str(event.stage), event.fraction, event.detail

        models = studio_server.home(config, job.tenant_id) / "models"
        path, seconds = await asyncio.to_thread(train_copy, config, ws.root, models, MODEL_PREFIX, progress)
        job.stage, job.detail = SWAP_STAGE, path.name
        await studio_sandbox.servers(app).serve(job.tenant_id, path)
        await swapped(job.tenant_id)
        done = "没有改动，未重新训练" if seconds is None else f"训练用时 {seconds:.0f} 秒"
        text = f"模型 {path.name}：{done}；沙盒已换用这个模型（正式环境的模型不变）。"
        job.results.append({"name": "训练", "ok": True, "report": text, "trained": seconds is not None})
        job.stage, job.fraction, job.done = str(Stage.DONE), 1.0, 1

    return body


MODEL_PREFIX = "studio-"
SWAP_STAGE = "换入沙盒"


def _remember(jobs: Jobs, job_id: str, job: Job) -> None:
    jobs.by_id[job_id] = job
    while len(jobs.by_id) > MAX_JOBS:
        oldest = next(iter(jobs.by_id))
        if jobs.by_id[oldest].state == "running":
            break
        del jobs.by_id[oldest]
