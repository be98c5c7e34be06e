"""Manufacturer admin API (``/api/v1/admin/*``): a tenant's admin token only (``bot.admin.services``).

Device and designer tokens get 403 here; admin tokens get 403 on every household endpoint (they
belong to no device). Ids of another tenant's households or devices are 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from sqlmodel import Session

from bot.admin import services as admin
from bot.errors import InputError
from bot.finance.catalog_parse import CatalogRejected
from bot.gateway.keys import ENGINE
from bot.gateway.routes import bearer_token, principal_for_token, read_body
from bot.store.db import session_scope, utcnow

table = web.RouteTableDef()
T = TypeVar("T")
MAX_CATALOG_BYTES = 1024 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv"})


async def _tenant(request: web.Request) -> str:
    token = bearer_token(request.headers.get("Authorization", ""))
    return admin.admin_tenant(await principal_for_token(request.app, token))


async def _in_session(request: web.Request, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with session_scope(request.app[ENGINE]) as session:
            return work(session)

    return await asyncio.to_thread(run)


def _int_id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # 「²」 is a digit to isdigit()
        raise InputError(f"{name} 必须是数字", code=f"bad_{name}")
    return int(raw)


@table.post("/api/v1/admin/catalog")
async def import_catalog(request: web.Request) -> web.Response:
    """JSON catalog (``?kind=`` for a bare list) or CSV rows of ``?kind=``; all or nothing."""
    tenant_id = await _tenant(request)
    kind = request.query.get("kind") or None
    is_csv = request.content_type in CSV_TYPES
    if not is_csv and request.content_type != "application/json":
        raise InputError("请求体必须是 JSON 或 CSV", code="unsupported_media_type", status=415)
    if is_csv and kind is None:
        raise InputError("CSV 需要 kind 参数（如 products）", code="bad_kind")
    try:
        text = (await read_body(request, MAX_CATALOG_BYTES)).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError("请求体不是 UTF-8 文本", code="bad_encoding") from err

    def run(session: Session) -> dict[str, Any]:
        csv_kind = kind if is_csv else None
        report = admin.import_catalog_text(session, tenant_id, text, csv_kind=csv_kind, kind=kind)
        return {"created": report.created, "updated": report.updated}

    try:
        return web.json_response(await _in_session(request, run))
    except CatalogRejected as err:
        problems = [{"where": p.where, "field": p.field, "reason": p.reason} for p in err.problems]
        return web.json_response({**err.to_json(), "problems": problems}, status=422)


@table.get("/api/v1/admin/devices")
async def devices(request: web.Request) -> web.Response:
    """Devices counted by category, brand, energy grade and age band (no personal data)."""
    tenant_id = await _tenant(request)
    today = utcnow().date()
    return web.json_response(await _in_session(request, lambda s: admin.device_summary(s, tenant_id, today)))


@table.get("/api/v1/admin/offers")
async def offers(request: web.Request) -> web.Response:
    """Offers counted by kind, application state and day (no personal data)."""
    tenant_id = await _tenant(request)
    return web.json_response(await _in_session(request, lambda s: admin.offer_summary(s, tenant_id)))


@table.get("/api/v1/admin/households/{household_id}/export")
async def export_household(request: web.Request) -> web.Response:
    """The consent ledger and offer audit of one household, as the household sees them."""
    tenant_id = await _tenant(request)
    household_id = _int_id(request, "household_id")
    body = await _in_session(request, lambda s: admin.household_export(s, tenant_id, household_id, utcnow()))
    return web.json_response(body)


@table.post("/api/v1/admin/devices/{device_id}/tokens/rotate")
async def rotate_token(request: web.Request) -> web.Response:
    """Revoke the device's tokens and return a new one (shown once)."""
    tenant_id = await _tenant(request)
    device_id = _int_id(request, "device_id")
    token, revoked = await _in_session(
        request, lambda s: admin.rotate_device_token(s, tenant_id, device_id, utcnow())
    )
    return web.json_response({"device_id": device_id, "token": token, "revoked": revoked})
