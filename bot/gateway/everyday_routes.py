"""Issue 17 routes: the panel's home screen, and complaint tickets (the household's own in 我的数据,
and the tenant admin's view)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.admin import services as admin
from bot.errors import NotFoundError
from bot.gateway.keys import ENGINE
from bot.gateway.routes import request_device, request_principal
from bot.household import complaints
from bot.store.db import session_scope, utcnow
from bot.store.models import Tenant
from bot.topics.home import home_summary

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
    tenant_id = admin.admin_tenant(await request_principal(request))

    def run() -> list[dict[str, object]]:
        with session_scope(request.app[ENGINE]) as session:
            return complaints.for_tenant(session, tenant_id)

    return web.json_response({"complaints": await asyncio.to_thread(run)})


@table.get("/api/v1/me/home")
async def my_home(request: web.Request) -> web.Response:
    """The home screen: energy this month vs last, open applications, points, consents, suggestions."""
    device = await request_device(request)

    def run() -> dict[str, object]:
        with session_scope(request.app[ENGINE]) as session:
            tenant = session.get(Tenant, device.tenant_id)
            if tenant is None:
                raise NotFoundError("没有找到这个厂商", code="tenant_not_found")
            return home_summary(session, tenant, device.household_id, utcnow())

    return web.json_response(await asyncio.to_thread(run))
