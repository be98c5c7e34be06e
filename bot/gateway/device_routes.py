"""Routes devices call without a conversation: pairing (``POST /api/v1/pair``, no token) and the
hub's telemetry upload (``POST /api/v1/telemetry``, hub token; CONTRACTS.md §5)."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from aiohttp import web

from bot.admin import pairing
from bot.errors import BotError, InputError
from bot.gateway.keys import ENGINE
from bot.gateway.routes import json_body, request_principal
from bot.store.db import session_scope, utcnow
from bot.telemetry.formats import ADAPTERS
from bot.telemetry.ingest import IngestReport, import_payload

table = web.RouteTableDef()
MAX_PAYLOAD_CHARS = 60_000
"""Largest telemetry payload of one request (the gateway's body limit is 64 KB)."""


@table.post("/api/v1/pair")
async def pair(request: web.Request) -> web.Response:
    """``{"code"}`` → 201 ``{"token", "device_id", "household_id", "kind"}``; a code works once."""
    body = await json_body(request)
    source = f"ip:{request.remote or 'unknown'}"

    def run() -> pairing.Paired | BotError:
        with session_scope(request.app[ENGINE]) as session:
            return pairing.exchange(session, body.get("code"), source, utcnow())

    try:
        outcome = await asyncio.to_thread(run)  # wrong-code counters are committed before answering
    except pairing.PairingLocked as err:
        headers = {"Retry-After": str(max(1, math.ceil(err.retry_after_s)))}
        return web.json_response(err.to_json(), status=err.status, headers=headers)
    if isinstance(outcome, BotError):
        raise outcome
    return web.json_response(outcome.to_json(), status=201)


@table.post("/api/v1/telemetry")
async def telemetry(request: web.Request) -> web.Response:
    """A hub's readings ``{"format", "payload"}`` (the formats of ``bot telemetry import``), only for
    devices of its own household; 200 with what was accepted and each rejected reading's reason,
    422 when nothing of it could be stored."""
    hub = (await request_principal(request)).hub()
    body = await json_body(request)
    fmt, payload = body.get("format"), body.get("payload")
    if not isinstance(fmt, str) or fmt not in ADAPTERS:
        raise InputError(f"format 必须是 {'、'.join(sorted(ADAPTERS))} 之一", code="bad_format")
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    if payload is None or len(text) > MAX_PAYLOAD_CHARS:
        raise InputError("payload 必须是该格式的内容（JSON 对象或 CSV 文本）", code="bad_payload")

    def run() -> IngestReport:
        with session_scope(request.app[ENGINE]) as session:
            return import_payload(session, fmt, text, household_id=hub.household_id)

    report = await asyncio.to_thread(run)
    out: dict[str, Any] = {
        "accepted": report.stored,
        "skipped": report.skipped,
        "rejected": [{"index": r.index, "where": r.where, "reason": r.reason} for r in report.rejected],
    }
    if report.rejected and report.stored == 0 and report.skipped == 0:
        message = "没有可保存的读数：" + report.rejected[0].reason
        return web.json_response(
            {"error": {"code": "no_valid_readings", "message": message}, **out}, status=422
        )
    return web.json_response(out)
