"""Complaint tickets (issue 17): the household's own (我的数据) and the tenant admin's view."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.admin import services as admin
from bot.gateway.keys import ENGINE
from bot.gateway.routes import bearer_token, principal_for_token, request_device
from bot.household import complaints
from bot.store.db import session_scope

table = web.RouteTableDef()


@table.get("/api/v1/me/complaints")
async def my_complaints(request: web.Request) -> web.Response:
    """The household's complaint and service tickets, newest first."""
    household_id = (await request_device(request)).household_id

    def run() -> list[dict[str, object]]:
        with session_scope(request.app[ENGINE]) as session:
            return complaints.for_household(session, household_id)

    return web.json_response({"complaints": await asyncio.to_thread(run)})


@table.get("/api/v1/admin/complaints")
async def tenant_complaints(request: web.Request) -> web.Response:
    """Every complaint and service ticket of the admin's tenant, newest first."""
    token = bearer_token(request.headers.get("Authorization", ""))
    tenant_id = admin.admin_tenant(await principal_for_token(request.app, token))

    def run() -> list[dict[str, object]]:
        with session_scope(request.app[ENGINE]) as session:
            return complaints.for_tenant(session, tenant_id)

    return web.json_response({"complaints": await asyncio.to_thread(run)})
