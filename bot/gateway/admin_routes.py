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

from bot.admin import onboarding, tokens
from bot.admin import services as admin
from bot.errors import InputError
from bot.finance.catalog_parse import CatalogRejected
from bot.gateway.keys import ENGINE
from bot.gateway.routes import json_body, read_body, request_principal
from bot.store.db import session_scope, utcnow

table = web.RouteTableDef()
T = TypeVar("T")
MAX_CATALOG_BYTES = 1024 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv"})


async def _tenant(request: web.Request) -> str:
    return admin.admin_tenant(await request_principal(request))


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


@table.delete("/api/v1/admin/devices/{device_id}/tokens")
async def revoke_device_tokens(request: web.Request) -> web.Response:
    """Revoke every token of the device at once (204); its next request answers 401."""
    tenant_id = await _tenant(request)
    device_id = _int_id(request, "device_id")
    await _in_session(request, lambda s: onboarding.revoke_tokens(s, tenant_id, device_id, utcnow()))
    return web.Response(status=204)


@table.post("/api/v1/admin/households")
async def create_household(request: web.Request) -> web.Response:
    """``{"name", "region"?, "members"?}`` → 201 ``{"household_id"}``."""
    tenant_id = await _tenant(request)
    body = await json_body(request)
    household = await _in_session(request, lambda s: onboarding.create_household(s, tenant_id, body))
    return web.json_response({"household_id": household.id}, status=201)


@table.get("/api/v1/admin/households")
async def list_households(request: web.Request) -> web.Response:
    """The tenant's households with device counts."""
    tenant_id = await _tenant(request)
    rows = await _in_session(request, lambda s: onboarding.list_households(s, tenant_id))
    return web.json_response({"households": rows})


@table.patch("/api/v1/admin/households/{household_id}")
async def update_household(request: web.Request) -> web.Response:
    """Change a household's name or members."""
    tenant_id = await _tenant(request)
    household_id = _int_id(request, "household_id")
    body = await json_body(request)

    def run(session: Session) -> dict[str, Any]:
        return onboarding.household_json(
            session, onboarding.update_household(session, tenant_id, household_id, body)
        )

    return web.json_response(await _in_session(request, run))


@table.delete("/api/v1/admin/households/{household_id}")
async def remove_household(request: web.Request) -> web.Response:
    """Erase a household's data (as 「删除我的数据」) and the household; its credentials stop at once."""
    tenant_id = await _tenant(request)
    household_id = _int_id(request, "household_id")
    outcome = await _in_session(
        request, lambda s: onboarding.remove_household(s, tenant_id, household_id, utcnow())
    )
    return web.json_response(outcome)


@table.post("/api/v1/admin/households/{household_id}/devices")
async def create_device(request: web.Request) -> web.Response:
    """Add a device; speakers, panels and hubs come back with a pairing code and its QR (201)."""
    tenant_id = await _tenant(request)
    household_id = _int_id(request, "household_id")
    body = await json_body(request)

    def run(session: Session) -> dict[str, Any]:
        added = onboarding.create_device(session, tenant_id, household_id, body, utcnow())
        out = {**onboarding.device_json(added.device)}
        if added.pairing is not None:
            out["pairing"] = added.pairing.to_json()
        return out

    return web.json_response(await _in_session(request, run), status=201)


@table.get("/api/v1/admin/households/{household_id}/devices")
async def list_devices(request: web.Request) -> web.Response:
    """A household's devices."""
    tenant_id = await _tenant(request)
    household_id = _int_id(request, "household_id")
    rows = await _in_session(request, lambda s: onboarding.list_devices(s, tenant_id, household_id))
    return web.json_response({"devices": rows})


@table.patch("/api/v1/admin/devices/{device_id}")
async def update_device(request: web.Request) -> web.Response:
    """Change a device's name, room, brand, model, dates or energy label fields."""
    tenant_id = await _tenant(request)
    device_id = _int_id(request, "device_id")
    body = await json_body(request)
    device = await _in_session(request, lambda s: onboarding.update_device(s, tenant_id, device_id, body))
    return web.json_response(onboarding.device_json(device))


@table.delete("/api/v1/admin/devices/{device_id}")
async def remove_device(request: web.Request) -> web.Response:
    """Delete a device with its readings, faults, conversations and credentials (204)."""
    tenant_id = await _tenant(request)
    device_id = _int_id(request, "device_id")
    await _in_session(request, lambda s: onboarding.remove_device(s, tenant_id, device_id))
    return web.Response(status=204)


@table.post("/api/v1/admin/devices/{device_id}/pairing")
async def new_pairing_code(request: web.Request) -> web.Response:
    """A fresh pairing code for a speaker, panel or hub (re-pairing); earlier unused codes stop working."""
    tenant_id = await _tenant(request)
    device_id = _int_id(request, "device_id")
    code = await _in_session(request, lambda s: onboarding.pairing_code(s, tenant_id, device_id, utcnow()))
    return web.json_response({"device_id": device_id, "pairing": code.to_json()}, status=201)


@table.get("/api/v1/admin/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    """The tenant's tokens without secrets (public id, role, device, label, times)."""
    tenant_id = await _tenant(request)
    return web.json_response({"tokens": await _in_session(request, lambda s: tokens.listing(s, tenant_id))})


@table.delete("/api/v1/admin/tokens/{token_id}")
async def revoke_token(request: web.Request) -> web.Response:
    """Revoke one token by its public id (204)."""
    tenant_id = await _tenant(request)
    public_id = request.match_info["token_id"]
    await _in_session(request, lambda s: tokens.revoke(s, tenant_id, public_id, utcnow()))
    return web.Response(status=204)
