"""HTTP routes of CONTRACTS.md §3: conversation turns (text and audio) and health."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from bot.bundle.active import bundle_health
from bot.conversation.turns import TurnRequest
from bot.errors import AuthError, BotError, InputError, StoreError
from bot.gateway.guard import GUARD, MAX_TOKEN_CHARS, AuthThrottled, Guard
from bot.gateway.health import HEALTH_CACHE, view
from bot.gateway.infra_health import INFRA, infra_components
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, PIPELINE, RUNNER, SETTINGS, SPEECH, UPLOADS
from bot.gateway.store_health import STORE_HEALTH
from bot.nlu.normalize import checked_turn_text
from bot.rasa.probe import probe
from bot.store.db import ping, session_scope
from bot.store.repo import DeviceRef, Principal, authenticate, hash_token

table = web.RouteTableDef()

WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
REQUIRED_COMPONENTS = ("database", "rasa", "actions")
"""Components without which no turn can be answered (speech only matters to spoken turns)."""
MAX_TURN_ID_CHARS = 80
"""Longest idempotency key accepted (``turn_id``, ``Idempotency-Key``)."""


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer …`` header; 401 when absent."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("缺少设备凭证", code="missing_token")
    return token.strip()


async def principal_for_token(request: web.Request, token: str) -> Principal:
    """The caller behind ``token``, within its token's and its source's limits (``bot.gateway.guard``)."""
    return await authenticate_token(request.app, token, request.app[GUARD].source(request))


async def authenticate_token(app: web.Application, token: str, source: str) -> Principal:
    """Rate-limit, then resolve ``token``: 401 unknown, 429 over the token's or the source's budget.

    A token that authenticated lately is looked up as it comes (revocation is immediate). Any other
    is refused at once while its source has no failure tries left, and otherwise looked up in one of
    its source's few lanes; a failure takes one of the source's tries. Concurrent requests with the
    same unproven token share one lookup.
    """
    guard, key = app[GUARD], hash_token(token)
    if key in guard.known:
        guard.tokens.check(key)
        try:
            return await asyncio.to_thread(_lookup, app, token)
        except AuthError:
            guard.known.forget(key)
            guard.failures.charge(source)
            raise
    if len(token) > MAX_TOKEN_CHARS:
        guard.failures.charge(source)
        raise AuthError("设备凭证无效", code="invalid_token")
    _throttle(guard, source)
    guard.tokens.check(key)
    flight = guard.flights.get(key)
    if flight is None:
        flight = guard.flights[key] = asyncio.ensure_future(_prove(app, guard, token, source))
        flight.add_done_callback(lambda done: _landed(guard, key, done))
    return await asyncio.shield(flight)


def _throttle(guard: Guard, source: str) -> None:
    """AuthThrottled (429) while ``source`` has no failed authentication left."""
    wait_s = guard.failures.wait_s(source)
    if wait_s > 0:
        raise AuthThrottled(wait_s)


async def _prove(app: web.Application, guard: Guard, token: str, source: str) -> Principal:
    """The lookup of an unproven token, in one of its source's lanes; a failure costs a try."""
    async with guard.lanes.lane(source):
        _throttle(guard, source)  # again: the tries may have run out while this waited
        try:
            return await asyncio.to_thread(_lookup, app, token)
        except AuthError:
            guard.failures.charge(source)
            raise


def _landed(guard: Guard, key: str, done: asyncio.Future[Principal]) -> None:
    guard.flights.pop(key, None)
    if not done.cancelled() and done.exception() is None:
        guard.known.add(key)


def _lookup(app: web.Application, token: str) -> Principal:
    with session_scope(app[ENGINE]) as session:
        return authenticate(session, token)


async def request_principal(request: web.Request) -> Principal:
    """The caller behind the ``Authorization: Bearer`` header, within its limits; 401/429 otherwise."""
    token = bearer_token(request.headers.get("Authorization", ""))
    return await principal_for_token(request, token)


async def request_device(request: web.Request) -> DeviceRef:
    """The device behind the bearer token, within its rate limit; 401/403/429 otherwise."""
    return (await request_principal(request)).device()


def check_turn_id(turn_id: object) -> str | None:
    """A valid idempotency key or None; InputError otherwise."""
    if turn_id is None:
        return None
    if not isinstance(turn_id, str):
        raise InputError("turn_id 必须是字符串", code="bad_turn_id")
    if not 0 < len(turn_id) <= MAX_TURN_ID_CHARS:
        raise InputError("turn_id 格式不正确", code="bad_turn_id")
    return turn_id


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes (413) and within the body timeout (408)."""
    if request.content_length is not None and request.content_length > limit:
        raise InputError(f"请求体太大（最多 {limit // 1024} KB）", code="too_large", status=413)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_timeout_s):
            async for chunk in request.content.iter_chunked(65536):
                size += len(chunk)
                if size > limit:
                    raise InputError(f"请求体太大（最多 {limit // 1024} KB）", code="too_large", status=413)
                chunks.append(chunk)
    except TimeoutError as err:
        raise InputError("请求体传输太慢，已超时", code="request_timeout", status=408) from err
    return b"".join(chunks)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/408/413/415 with a clear message."""
    if request.content_type != "application/json":
        raise InputError("请求体必须是 JSON", code="unsupported_media_type", status=415)
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_timeout_s):
            body = await request.json()
    except TimeoutError as err:
        raise InputError("请求体传输太慢，已超时", code="request_timeout", status=408) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError("请求体不是合法的 JSON", code="bad_json") from err
    if not isinstance(body, dict):
        raise InputError("请求体必须是 JSON 对象", code="bad_json")
    return body


@table.post("/api/v1/converse")
async def converse(request: web.Request) -> web.Response:
    """A text turn: ``{"text", "turn_id"?}`` → replies with cards and pipeline events."""
    device = await request_device(request)
    body = await json_body(request)
    turn_id = check_turn_id(body.get("turn_id"))
    text = checked_turn_text(body.get("text"))
    inspect = body.get("debug", False)
    if not isinstance(inspect, bool):
        raise InputError("debug 必须是 true 或 false", code="bad_debug")
    outcome = await request.app[RUNNER].run(TurnRequest(device, text, turn_id, inspect=inspect))
    return web.json_response(outcome)


@table.post("/api/v1/converse/audio")
async def converse_audio(request: web.Request) -> web.Response:
    """A spoken turn: a WAV body (any common rate/channels) → transcript, replies, cards and events."""
    device = await request_device(request)
    if request.content_type not in WAV_TYPES:
        raise InputError(
            "请发送 WAV 音频（Content-Type: audio/wav）", code="unsupported_media_type", status=415
        )
    turn_id = check_turn_id(request.headers.get("Idempotency-Key") or request.query.get("turn_id"))
    # claimed before the body (refusing costs nothing), held while it arrives and is decoded
    with request.app[UPLOADS].claim(str(device.device_id)) as upload:
        wav = await read_body(request, request.app[SETTINGS].max_audio_bytes)
        outcome = await request.app[PIPELINE].audio_turn(device, wav, turn_id, heard=upload.release)
    return web.json_response(outcome)


@table.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """``{"status"}`` (503 when a component every turn needs is down); a device token also sees
    whether speech is up, an admin token every component. One report per ``health_cache_s`` serves
    every caller (``bot.gateway.health``)."""
    role, cache = None, request.app[HEALTH_CACHE]
    if "Authorization" in request.headers:
        token = bearer_token(request.headers["Authorization"])
        try:
            role = (await principal_for_token(request, token)).role
            cache.roles.remember(hash_token(token), role)
        except StoreError:  # the database is down: a token seen lately keeps its view of the outage
            role = cache.roles.recall(hash_token(token))
    body, status = await cache.get(lambda: _health_report(request.app))
    return web.json_response(view(body, role), status=status)


async def _health_report(app: web.Application) -> tuple[dict[str, Any], int]:
    """Health of each component, and the status code."""
    checks = {
        "database": _check_database(app),
        "rasa": app[DIALOGUE].health(),
        "actions": _check_actions(app),
    }
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    components: dict[str, Any] = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            message = result.message if isinstance(result, BotError) else type(result).__name__
            components[name] = {"ok": False, "error": message}
        else:
            components[name] = {"ok": True, **result}
    components.update(app[SPEECH].health())
    infra, infra_required = await infra_components(app[INFRA])
    components.update(infra)
    healthy = all(components[name]["ok"] for name in (*REQUIRED_COMPONENTS, *infra_required))
    complete = all(c["ok"] for c in components.values())
    status = "ok" if complete else "degraded" if healthy else "down"
    bundle = bundle_health(app[CONFIG].var_dir, components["rasa"].get("model"))
    body = {"status": status, "components": components, "bundle": bundle}
    return body, 200 if healthy else 503


async def _check_database(app: web.Application) -> dict[str, Any]:
    await asyncio.to_thread(ping, app[ENGINE])
    app[STORE_HEALTH].check()
    return {}


async def _check_actions(app: web.Application) -> dict[str, Any]:
    await probe(app[HTTP], app[CONFIG].actions_url + "/health")
    return {}
