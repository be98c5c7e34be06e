"""The partner side over HTTP: signed decision callbacks in, and the tenant admin's view of the
applications and their deliveries (``/api/v1/admin/applications``)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from bot.admin import services as admin
from bot.errors import InputError
from bot.gateway.keys import ENGINE
from bot.gateway.routes import read_body, request_principal
from bot.partners import callback, outbox, signing
from bot.store.db import session_scope, utcnow

table = web.RouteTableDef()
MAX_DECISION_BYTES = 16 * 1024
_PARTNER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@table.post("/api/v1/partners/{partner}/decisions")
async def partner_decision(request: web.Request) -> web.Response:
    """A partner's decision, HMAC-signed (``X-Signature``); 401 unsigned/forged/stale, 200 with the
    outcome otherwise (``applied``, ``duplicate``, or why it was ignored, state unchanged)."""
    partner = request.match_info["partner"]
    if not _PARTNER.match(partner):
        raise InputError("合作方标识格式不正确", code="bad_partner")
    body = await read_body(request, MAX_DECISION_BYTES)
    signature = request.headers.get(signing.HEADER, "")

    def receive() -> dict[str, Any]:
        with session_scope(request.app[ENGINE]) as session:
            outcome = callback.receive(session, partner, body, signature, utcnow())
            return {"outcome": outcome.outcome, "state": outcome.state}

    return web.json_response(await asyncio.to_thread(receive))


@table.get("/api/v1/admin/applications")
async def admin_applications(request: web.Request) -> web.Response:
    """The tenant's applications and deliveries per state, and the deliveries with their last error."""
    tenant_id = admin.admin_tenant(await request_principal(request))

    def view() -> dict[str, Any]:
        with session_scope(request.app[ENGINE]) as session:
            return outbox.admin_view(session, tenant_id)

    return web.json_response(await asyncio.to_thread(view))
