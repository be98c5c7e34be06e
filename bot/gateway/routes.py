"""HTTP routes of CONTRACTS.md §3: conversation turns and health."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from bot.errors import AuthError, BotError, InputError
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, RUNNER
from bot.normalize import checked_turn_text
from bot.probe import probe
from bot.store.db import ping, session_scope
from bot.store.repo import Principal, authenticate
from bot.turns import TurnRequest

table = web.RouteTableDef()


async def principal_of(request: web.Request) -> Principal:
    """The caller behind the bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("缺少设备凭证", code="missing_token")

    def lookup() -> Principal:
        with session_scope(request.app[ENGINE]) as session:
            return authenticate(session, token.strip())

    return await asyncio.to_thread(lookup)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/415 with a clear message."""
    if request.content_type != "application/json":
        raise InputError("请求体必须是 JSON", code="unsupported_media_type", status=415)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError("请求体不是合法的 JSON", code="bad_json") from err
    if not isinstance(body, dict):
        raise InputError("请求体必须是 JSON 对象", code="bad_json")
    return body


@table.post("/api/v1/converse")
async def converse(request: web.Request) -> web.Response:
    """A text turn: ``{"text", "turn_id"?}`` → replies with cards and pipeline events."""
    principal = await principal_of(request)
    body = await json_body(request)
    turn_id = body.get("turn_id")
    if turn_id is not None and not isinstance(turn_id, str):
        raise InputError("turn_id 必须是字符串", code="bad_turn_id")
    text = checked_turn_text(body.get("text"))
    outcome = await request.app[RUNNER].run(TurnRequest(principal, text, turn_id))
    return web.json_response(outcome)


@table.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Health of each component; 503 when any is down."""
    checks = {
        "database": _check_database(request),
        "rasa": request.app[DIALOGUE].health(),
        "actions": _check_actions(request),
    }
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    components: dict[str, Any] = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            message = result.message if isinstance(result, BotError) else type(result).__name__
            components[name] = {"ok": False, "error": message}
        else:
            components[name] = {"ok": True, **result}
    healthy = all(c["ok"] for c in components.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "components": components},
        status=200 if healthy else 503,
    )


async def _check_database(request: web.Request) -> dict[str, Any]:
    await asyncio.to_thread(ping, request.app[ENGINE])
    return {}


async def _check_actions(request: web.Request) -> dict[str, Any]:
    await probe(request.app[HTTP], request.app[CONFIG].actions_url + "/health")
    return {}
