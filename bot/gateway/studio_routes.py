"""``GET /studio``: the designer studio (CONTRACTS.md §5), and its ``/api/v1/studio/*`` endpoints.

Every endpoint takes a designer token and works within that token's tenant: its catalog words, its
working copy of the dialogue files (``<var>/studio/<tenant>``), and a sandbox household of its own
for conversations (a copy of a demo home its configuration lists, or the studio's sample household).
A sandbox is removed with its trackers when the designer starts another, and when the gateway stops;
one a stopped gateway left behind is removed at the next start. Nothing here edits the running model
or a real household.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session, select

from bot.conversation.rasa_auth import rasa_headers
from bot.conversation.turns import TurnRequest
from bot.errors import BotError, InputError, NotFoundError
from bot.gateway import studio_checks as checks
from bot.gateway import studio_sandbox
from bot.gateway.jobs import TRACKERS
from bot.gateway.keys import CONFIG, ENGINE, HTTP, PIPELINE, SETTINGS
from bot.gateway.nlu_routes import designer_view
from bot.gateway.panel_routes import serve_asset
from bot.gateway.routes import WAV_TYPES, json_body, read_body, request_principal
from bot.gateway.studio_sandbox import forgetter
from bot.nlu.evaluate import read_examples
from bot.nlu.normalize import checked_turn_text
from bot.store.db import utcnow
from bot.store.models import Conversation, TokenRole
from bot.store.repo import DeviceRef, Principal, hash_token
from bot.studio import flows, responses, sandbox, training, tryout
from bot.studio.cases import KINDS
from bot.studio.runner import Forget, discard
from bot.studio.workspace import Workspace, workspace

table = web.RouteTableDef()
_LOGGER = logging.getLogger(__name__)

STUDIO_DIR = Path(__file__).resolve().parent / "studio"


@dataclass
class Designer:
    """What the studio keeps for one designer token: the sandbox and its conversation path."""

    tenant_id: str
    box: sandbox.Sandbox | None = None
    path: list[str] = field(default_factory=list)


@dataclass
class StudioState:
    """Designers by token hash, and check jobs."""

    designers: dict[str, Designer] = field(default_factory=dict)
    jobs: checks.Jobs = field(default_factory=checks.Jobs)


STUDIO = web.AppKey("studio", StudioState)


SANDBOX_LEFT_AFTER = timedelta(hours=12)
"""A sandbox older than this at start-up was left by a stopped gateway, and is removed."""


def setup(app: web.Application) -> None:
    """Register the studio's state and routes on the gateway."""
    app[STUDIO] = StudioState()
    app.add_routes(table)
    studio_sandbox.setup(app)  # its servers stop after the sandboxes below are removed
    app.cleanup_ctx.append(_sandboxes)


async def _sandboxes(app: web.Application) -> AsyncIterator[None]:
    """Remove sandboxes left by a stopped gateway at start; this gateway's own when it stops."""
    try:
        for household_id in await asyncio.to_thread(_stale, app):
            await discard(app[ENGINE], household_id, _forget(app))
    except BotError as err:  # a database down at start-up must not stop the gateway
        _LOGGER.warning("studio: leftover sandboxes not removed: %s", err.code)
    yield
    for designer in app[STUDIO].designers.values():
        if designer.box is not None:
            with contextlib.suppress(BotError):
                await discard(app[ENGINE], designer.box.household_id, forgetter(app, designer.tenant_id))


# --- the page ---------------------------------------------------------------------------------


@table.get("/studio")
async def studio_page(request: web.Request) -> web.FileResponse:
    """The studio page (the designer token is given in the URL fragment, never sent to the server)."""
    return serve_asset(STUDIO_DIR, "index.html")


@table.get("/studio/{name}")
async def studio_asset(request: web.Request) -> web.FileResponse:
    """A studio asset by plain file name."""
    return serve_asset(STUDIO_DIR, request.match_info["name"])


# --- Try --------------------------------------------------------------------------------------


@table.post("/api/v1/studio/try")
async def try_utterance(request: web.Request) -> web.Response:
    """``{"text"}`` → what the NLU makes of it, and the sandbox's answer (texts, cards, events)."""
    _, designer = await _designer(request)
    body = await json_body(request)
    text = checked_turn_text(body.get("text"))
    box = designer.box or await _new_sandbox(request.app, designer, body.get("household"))
    return web.json_response(await _try(request.app, designer, box, text))


@table.post("/api/v1/studio/try/audio")
async def try_spoken(request: web.Request) -> web.Response:
    """A WAV body (any common rate/channels) → the transcript the recogniser hears, as a spoken turn
    of the sandbox's panel would, then the same as a typed try."""
    _, designer = await _designer(request)
    if request.content_type not in WAV_TYPES:
        raise InputError(
            "请发送 WAV 音频（Content-Type: audio/wav）", code="unsupported_media_type", status=415
        )
    wav = await read_body(request, request.app[SETTINGS].max_audio_bytes)
    box = designer.box or await _new_sandbox(request.app, designer, request.query.get("household"))
    device = DeviceRef(box.tenant_id, box.household_id, box.device_id)
    text = await request.app[PIPELINE].transcribe(device, wav)
    return web.json_response({"transcript": text, **await _try(request.app, designer, box, text)})


async def _try(app: web.Application, designer: Designer, box: sandbox.Sandbox, text: str) -> dict[str, Any]:
    rasa = studio_sandbox.rasa_for(app, designer.tenant_id)
    parse = designer_view(await rasa.dialogue.parse(text))
    words = await asyncio.to_thread(_catalog, app, designer.tenant_id)
    threshold = tryout.fallback_threshold((app[CONFIG].project_dir / "config.yml").read_text("utf-8"))
    nlu = tryout.explain(parse, text, threshold, tryout.words_of(words))
    device = DeviceRef(box.tenant_id, box.household_id, box.device_id)
    turn = await rasa.runner.run(TurnRequest(device, text, None, inspect=True))
    designer.path = await _path(app, box, rasa)
    model = rasa.model or "运行中的模型"
    return {"nlu": nlu, "turn": turn, "path": designer.path, "sandbox": {**_box(box), "model": model}}


@table.post("/api/v1/studio/sandbox")
async def reset_sandbox(request: web.Request) -> web.Response:
    """``{"household"?}`` → a fresh sandbox copy of one of the tenant's demo households."""
    _, designer = await _designer(request)
    body = await json_body(request)
    box = await _new_sandbox(request.app, designer, body.get("household"))
    return web.json_response({"sandbox": _box(box)}, status=201)


@table.get("/api/v1/studio/catalog")
async def catalog(request: web.Request) -> web.Response:
    """The tenant's catalog words and the demo households its sandbox can copy."""
    principal, _ = await _designer(request)
    words = await asyncio.to_thread(_catalog, request.app, principal.tenant_id)
    homes = await asyncio.to_thread(_demo_households, request.app, principal.tenant_id)
    return web.json_response({"tenant": principal.tenant_id, "words": words, "households": homes})


# --- Responses --------------------------------------------------------------------------------


@table.get("/api/v1/studio/responses")
async def list_responses(request: web.Request) -> web.Response:
    """Every response of the working copy with its variations, values and rule problems."""
    ws = await _workspace(request)
    items = responses.responses(ws.read("domain.yml"))
    return web.json_response(
        {
            "responses": [responses.as_json(r) for r in items],
            "limit": responses.SPOKEN_LIMIT,
            "diff": ws.diff(),
        }
    )


@table.post("/api/v1/studio/responses/check")
async def check_response(request: web.Request) -> web.Response:
    """``{"name", "variations"}`` → the wording rules' problems (as the designer types)."""
    await _workspace(request)
    name, variations = _response_body(await json_body(request))
    lengths = [responses.spoken_length(v) for v in variations]
    return web.json_response({"problems": responses.check(name, variations), "lengths": lengths})


@table.put("/api/v1/studio/responses/{name}")
async def save_response(request: web.Request) -> web.Response:
    """``{"variations"}`` → saved to the working copy's ``domain.yml``; returns problems and the diff."""
    ws = await _workspace(request)
    name = request.match_info["name"]
    _, variations = _response_body({**(await json_body(request)), "name": name})
    updated = responses.replace_variations(ws.read("domain.yml"), name, variations)
    ws.write("domain.yml", updated)
    return web.json_response({"problems": responses.check(name, variations), "diff": ws.diff()})


# --- Training data ----------------------------------------------------------------------------


@table.get("/api/v1/studio/training")
async def training_data(request: web.Request) -> web.Response:
    """Examples per intent with counts, duplicates across intents, held-out overlap."""
    ws = await _workspace(request)
    view = await asyncio.to_thread(training.overview, ws)
    return web.json_response(
        {
            "intents": view.intents,
            "counts": {k: len(v) for k, v in view.intents.items()},
            "duplicates": view.duplicates,
            "heldout_overlap": view.heldout_overlap,
        }
    )


@table.post("/api/v1/studio/training")
async def add_training_example(request: web.Request) -> web.Response:
    """``{"intent", "text"}`` → the example appended in the working copy."""
    ws = await _workspace(request)
    body = await json_body(request)
    intent, text = body.get("intent"), body.get("text")
    if not isinstance(intent, str) or not isinstance(text, str):
        raise InputError("需要 intent 和 text", code="bad_example")
    changed = await asyncio.to_thread(training.add_example, ws, intent, text)
    return web.json_response({"file": changed, "diff": ws.diff()}, status=201)


# --- Flows ------------------------------------------------------------------------------------


@table.get("/api/v1/studio/flows")
async def flow_graph(request: web.Request) -> web.Response:
    """Rules and stories as a graph, unused intents/responses, and the last sandbox path."""
    _, designer = await _designer(request)
    ws = await _workspace(request)
    graph = await asyncio.to_thread(flows.graph, ws)
    unused = await asyncio.to_thread(flows.unused, request.app[CONFIG].project_dir)
    return web.json_response({**graph.as_json(), "unused": unused, "last_path": designer.path})


# --- Check ------------------------------------------------------------------------------------


@table.post("/api/v1/studio/checks")
async def start_check(request: web.Request) -> web.Response:
    """``{"kind", "yaml"?}`` → a job, polled for progress. Kinds:

    - ``conversations``: the conversation tests of this tenant (``tests/conversations``, or the cases
      in ``yaml``), each in its own sandbox household through the real dialogue;
    - ``validate``: ``rasa data validate`` on the tenant's working copy;
    - ``heldout``: the held-out NLU evaluation set against the sandbox's model;
    - ``train``: a model of the tenant's working copy (only when it changed), then swapped into the
      tenant's sandbox (its own Rasa server; the production server and model are never touched).
    """
    principal, _ = await _designer(request)
    body = await json_body(request)
    kind, tenant = body.get("kind"), principal.tenant_id
    app = request.app
    jobs = app[STUDIO].jobs
    if kind == "conversations":
        cases = checks.cases_for(app, body.get("yaml"), tenant)
        job = checks.Job(tenant, "conversations", len(cases))
        job_id = checks.start(jobs, job, checks.run_conversations(app, cases))
    elif kind == "validate":
        job = checks.Job(tenant, "validate", 1)
        job_id = checks.start(jobs, job, checks.run_validate(app, await _workspace(request)))
    elif kind == "train":
        if any(j.kind == "train" and j.state == "running" for j in jobs.by_id.values()):
            raise BotError("已经有一个训练在进行，请等它完成", code="train_busy", status=409)
        job = checks.Job(tenant, "train", 1)
        job_id = checks.start(
            jobs, job, checks.run_train(app, await _workspace(request), _fresh_sandboxes(app))
        )
    elif kind == "heldout":
        examples = read_examples(app[CONFIG].project_dir / training.HELDOUT)
        job = checks.Job(tenant, "heldout", len(examples))
        job_id = checks.start(jobs, job, checks.run_heldout(app, examples))
    else:
        raise InputError("kind 只能是 conversations、validate、heldout 或 train", code="bad_check")
    return web.json_response({"job_id": job_id, "total": job.total}, status=202)


@table.get("/api/v1/studio/checks/{job_id}")
async def check_status(request: web.Request) -> web.Response:
    """Progress and results of a check job of this tenant."""
    principal, _ = await _designer(request)
    job = request.app[STUDIO].jobs.by_id.get(request.match_info["job_id"])
    if job is None or job.tenant_id != principal.tenant_id:
        raise NotFoundError("没有这个检查任务", code="job_not_found")
    passed = sum(1 for r in job.results if r["ok"])
    return web.json_response(
        {
            "state": job.state,
            "kind": job.kind,
            "total": job.total,
            "done": job.done,
            "passed": passed,
            "results": job.results,
            "error": job.error,
            "progress": job.progress(),
        }
    )


# --- helpers ----------------------------------------------------------------------------------


async def _designer(request: web.Request) -> tuple[Principal, Designer]:
    principal = await request_principal(request)
    if principal.role != TokenRole.DESIGNER:
        raise BotError("只有对话设计人员可以使用设计工作台", code="forbidden", status=403)
    token = request.headers["Authorization"].split(None, 1)[1].strip()
    designers = request.app[STUDIO].designers
    key = hash_token(token)
    if key not in designers:
        designers[key] = Designer(principal.tenant_id)
    return principal, designers[key]


async def _workspace(request: web.Request) -> Workspace:
    principal, _ = await _designer(request)
    config = request.app[CONFIG]
    return workspace(config.project_dir, config.var_dir, principal.tenant_id)


def _response_body(body: dict[str, Any]) -> tuple[str, list[str]]:
    name, variations = body.get("name"), body.get("variations")
    if not isinstance(name, str) or not isinstance(variations, list) or not variations:
        raise InputError("需要 name 和至少一条 variations", code="bad_response")
    if not all(isinstance(v, str) and len(v) <= 500 for v in variations) or len(variations) > 20:
        raise InputError("每条变体是不超过500字的文字，最多20条", code="bad_response")
    return name, [str(v) for v in variations]


async def _new_sandbox(app: web.Application, designer: Designer, household: Any) -> sandbox.Sandbox:
    homes = await asyncio.to_thread(_demo_households, app, designer.tenant_id)
    if household is None:
        household = homes[0]
    if not isinstance(household, str) or household not in homes:
        raise NotFoundError("这个租户没有这个可用的家庭", code="household_not_found")
    if designer.box is not None:
        old, designer.box = designer.box, None
        await discard(app[ENGINE], old.household_id, forgetter(app, designer.tenant_id))

    def make() -> sandbox.Sandbox:
        with Session(app[ENGINE], expire_on_commit=False) as session:
            return sandbox.create(session, designer.tenant_id, household, KINDS["panel"], utcnow())

    designer.box = await asyncio.to_thread(make)
    designer.path = []
    return designer.box


def _fresh_sandboxes(app: web.Application) -> Callable[[str], Awaitable[None]]:
    """After a swap: the tenant's designers start new sandboxes (their old conversations were held
    by the previous model's server)."""

    async def fresh(tenant_id: str) -> None:
        for designer in app[STUDIO].designers.values():
            if designer.tenant_id == tenant_id and designer.box is not None:
                old, designer.box, designer.path = designer.box, None, []
                await discard(app[ENGINE], old.household_id, forgetter(app, tenant_id))

    return fresh


def _demo_households(app: web.Application, tenant_id: str) -> list[str]:
    with Session(app[ENGINE]) as session:
        return sandbox.households(session, tenant_id)


def _stale(app: web.Application) -> list[int]:
    with Session(app[ENGINE]) as session:
        return sandbox.stale(session, utcnow() - SANDBOX_LEFT_AFTER)


def _forget(app: web.Application) -> Forget:
    """Erases trackers of sandbox conversations in the production Rasa (at start-up no studio
    server runs yet)."""
    return app[TRACKERS].erase


def _catalog(app: web.Application, tenant_id: str) -> dict[str, list[str]]:
    with Session(app[ENGINE]) as session:
        return tryout.catalog_words(session, tenant_id)


def _box(box: sandbox.Sandbox) -> dict[str, Any]:
    return {"household": box.source, "household_id": box.household_id}


async def _path(app: web.Application, box: sandbox.Sandbox, rasa: studio_sandbox.SandboxRasa) -> list[str]:
    """The sandbox conversation's path (intents and actions) from its Rasa's tracker."""

    def sender() -> str | None:
        with Session(app[ENGINE]) as session:
            conv = session.exec(
                select(Conversation)
                .where(Conversation.device_id == box.device_id)
                .order_by(Conversation.last_turn_at.desc())  # type: ignore[attr-defined]
            ).first()
            return conv.id if conv else None

    conversation = await asyncio.to_thread(sender)
    if conversation is None or not rasa.token:
        return []
    url = f"{rasa.url}/conversations/{conversation}/tracker"
    params = {"include_events": "AFTER_RESTART"}
    try:
        async with app[HTTP].get(url, params=params, headers=rasa_headers(rasa.token)) as resp:
            body = await resp.json() if resp.status == 200 else {}
    except (OSError, ValueError, TimeoutError):
        return []
    return flows.path_of_events(body.get("events") or [])
