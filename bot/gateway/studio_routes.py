"""``GET /studio``: the designer studio (CONTRACTS.md §5), and its ``/api/v1/studio/*`` endpoints.

Every endpoint takes a designer token and works within that token's tenant: its catalog words, its
working copy of the dialogue files (``<var>/studio/<tenant>``), and a sandbox copy of one of its
demo households for conversations. Nothing here edits the running model or a real household.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session, select

from bot.conversation.rasa_auth import rasa_headers
from bot.conversation.turns import TurnRequest
from bot.errors import BotError, InputError, NotFoundError
from bot.gateway import studio_checks as checks
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, RUNNER
from bot.gateway.nlu_routes import designer_view
from bot.gateway.routes import json_body, request_principal
from bot.nlu.evaluate import read_examples
from bot.nlu.normalize import checked_turn_text
from bot.store.db import utcnow
from bot.store.models import Conversation, Household, TokenRole
from bot.store.repo import DeviceRef, Principal, hash_token
from bot.studio import flows, responses, sandbox, training, tryout
from bot.studio.cases import KINDS
from bot.studio.workspace import Workspace, workspace

table = web.RouteTableDef()

STUDIO_DIR = Path(__file__).resolve().parent / "studio"
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg|html)$")
_TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml", "html": "text/html"}


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


def setup(app: web.Application) -> None:
    """Register the studio's state and routes on the gateway."""
    app[STUDIO] = StudioState()
    app.add_routes(table)


# --- the page ---------------------------------------------------------------------------------


@table.get("/studio")
async def studio_page(request: web.Request) -> web.FileResponse:
    """The studio page (the designer token is given in the URL fragment, never sent to the server)."""
    return _asset("index.html")


@table.get("/studio/{name}")
async def studio_asset(request: web.Request) -> web.FileResponse:
    """A studio asset by plain file name."""
    return _asset(request.match_info["name"])


# --- Try --------------------------------------------------------------------------------------


@table.post("/api/v1/studio/try")
async def try_utterance(request: web.Request) -> web.Response:
    """``{"text"}`` → what the NLU makes of it, and the sandbox's answer (texts, cards, events)."""
    principal, designer = await _designer(request)
    body = await json_body(request)
    text = checked_turn_text(body.get("text"))
    app = request.app
    parse = designer_view(await app[DIALOGUE].parse(text))
    words = await asyncio.to_thread(_catalog, app, principal.tenant_id)
    threshold = tryout.fallback_threshold((app[CONFIG].project_dir / "config.yml").read_text("utf-8"))
    nlu = tryout.explain(parse, text, threshold, tryout.words_of(words))
    box = designer.box or await _new_sandbox(app, designer, body.get("household"))
    device = DeviceRef(box.tenant_id, box.household_id, box.device_id)
    turn = await app[RUNNER].run(TurnRequest(device, text, None, inspect=True))
    designer.path = await _path(app, box)
    return web.json_response({"nlu": nlu, "turn": turn, "path": designer.path, "sandbox": _box(box)})


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
    - ``heldout``: the held-out NLU evaluation set against the running model.
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
    elif kind == "heldout":
        examples = read_examples(app[CONFIG].project_dir / training.HELDOUT)
        job = checks.Job(tenant, "heldout", len(examples))
        job_id = checks.start(jobs, job, checks.run_heldout(app, examples))
    else:
        raise InputError("kind 只能是 conversations、validate 或 heldout", code="bad_check")
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
        }
    )


# --- helpers ----------------------------------------------------------------------------------


def _asset(name: str) -> web.FileResponse:
    match = _ASSET.match(name)
    if match is None or not (STUDIO_DIR / name).is_file():
        raise NotFoundError("没有这个文件", code="not_found")
    response = web.FileResponse(
        STUDIO_DIR / name, headers={"Content-Type": f"{_TYPES[match.group(1)]}; charset=utf-8"}
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


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
        household = homes[0] if homes else None
    if not isinstance(household, str) or household not in homes:
        raise NotFoundError("这个租户没有可用的演示家庭", code="household_not_found")

    def make() -> sandbox.Sandbox:
        with Session(app[ENGINE], expire_on_commit=False) as session:
            return sandbox.create(session, designer.tenant_id, household, KINDS["panel"], utcnow())

    designer.box = await asyncio.to_thread(make)
    designer.path = []
    return designer.box


def _demo_households(app: web.Application, tenant_id: str) -> list[str]:
    with Session(app[ENGINE]) as session:
        names = session.exec(select(Household.name).where(Household.tenant_id == tenant_id)).all()
    return [n for n in sandbox.DEMO_HOUSEHOLDS if n in set(names)]


def _catalog(app: web.Application, tenant_id: str) -> dict[str, list[str]]:
    with Session(app[ENGINE]) as session:
        return tryout.catalog_words(session, tenant_id)


def _box(box: sandbox.Sandbox) -> dict[str, Any]:
    return {"household": box.source, "household_id": box.household_id}


async def _path(app: web.Application, box: sandbox.Sandbox) -> list[str]:
    """The sandbox conversation's path (intents and actions) from Rasa's tracker."""
    config = app[CONFIG]

    def sender() -> str | None:
        with Session(app[ENGINE]) as session:
            conv = session.exec(
                select(Conversation)
                .where(Conversation.device_id == box.device_id)
                .order_by(Conversation.last_turn_at.desc())  # type: ignore[attr-defined]
            ).first()
            return conv.id if conv else None

    conversation = await asyncio.to_thread(sender)
    if conversation is None or not config.rasa_token:
        return []
    url = f"{config.rasa_url}/conversations/{conversation}/tracker"
    params = {"include_events": "AFTER_RESTART"}
    try:
        async with app[HTTP].get(url, params=params, headers=rasa_headers(config.rasa_token)) as resp:
            body = await resp.json() if resp.status == 200 else {}
    except (OSError, ValueError, TimeoutError):
        return []
    return flows.path_of_events(body.get("events") or [])
