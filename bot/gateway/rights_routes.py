"""The household's data rights and out-of-band completion (CONTRACTS.md §3, PRODUCT.md rules 2 and 4).

Everything is scoped to the household of the calling device: ids of another household's offers or
applications are simply not found. Writes commit before the response says they happened.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any, TypeVar

import segno
from aiohttp import web
from sqlmodel import Session

from bot.conversation.erasure import erase_household
from bot.errors import InputError
from bot.gateway.jobs import TRACKERS
from bot.gateway.keys import CONFIG, ENGINE
from bot.gateway.routes import json_body, request_device
from bot.household import consent, data_rights
from bot.household.export import export_household, kept_tables
from bot.offers import applications, phone_links, records
from bot.offers.applications import ApplicationError
from bot.offers.records import why
from bot.store.db import session_scope, utcnow
from bot.store.models import ConsentScope, Device, DeviceCategory
from bot.topics.commitment import status_card

table = web.RouteTableDef()
T = TypeVar("T")


async def _household(request: web.Request) -> int:
    return (await request_device(request)).household_id


async def _in_session(request: web.Request, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with session_scope(request.app[ENGINE]) as session:
            return work(session)

    return await asyncio.to_thread(run)


def _consents(session: Session, household_id: int) -> dict[str, Any]:
    return data_rights.consent_ledger(session, household_id)


@table.get("/api/v1/me/consents")
async def get_consents(request: web.Request) -> web.Response:
    """Each consent scope's state now, and the household's full consent history."""
    household_id = await _household(request)
    return web.json_response(await _in_session(request, lambda s: _consents(s, household_id)))


def _change_request(body: dict[str, Any]) -> tuple[list[str], bool]:
    """Scopes and grant/withdraw; ``channel`` and ``notice_version`` are the server's (ignored here)."""
    scopes = body.get("scopes", [body["scope"]] if "scope" in body else None)
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise InputError("请指明授权范围（scope 或 scopes）", code="bad_scope")
    for scope in scopes:
        consent.parse_scope(scope)
    granted = body.get("granted")
    if not isinstance(granted, bool):
        raise InputError("granted 必须是 true 或 false", code="bad_granted")
    return sorted(set(scopes)), granted


def _channel(session: Session, device_id: int) -> str:
    """The channel a consent change is recorded under: from the calling device, never the client."""
    device = session.get(Device, device_id)
    return "panel" if device is not None and device.category == DeviceCategory.PANEL.value else "api"


@table.post("/api/v1/me/consents")
async def change_consents(request: web.Request) -> web.Response:
    """Grant or withdraw scopes: ``{"scope"|"scopes", "granted"}``; the channel is the calling
    device's and the notice version the current one (both decided here, not by the client)."""
    device = await request_device(request)
    scopes, granted = _change_request(await json_body(request))

    def change(session: Session) -> dict[str, Any]:
        write = consent.grant if granted else consent.withdraw
        channel, notice = _channel(session, device.device_id), consent.NOTICE_VERSION
        for scope in scopes:
            write(session, device.household_id, scope, channel=channel, notice_version=notice, now=utcnow())
        return _consents(session, device.household_id)

    return web.json_response(await _in_session(request, change))


@table.get("/api/v1/me/offers")
async def get_offers(request: web.Request) -> web.Response:
    """The audit of every offer shown to this household, newest first, with its explanation."""
    household_id = await _household(request)
    return web.json_response(await _in_session(request, lambda s: records.offer_audit(s, household_id)))


def _offer_id(request: web.Request) -> int:
    raw = request.match_info["offer_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # 「²」 is a digit to isdigit()
        raise InputError("offer_id 必须是数字", code="bad_offer_id")
    return int(raw)


@table.get("/api/v1/me/offers/{offer_id}")
async def get_offer(request: web.Request) -> web.Response:
    """One offer's audit row: why it was made (404 for other households' offers)."""
    household_id = await _household(request)
    offer_id = _offer_id(request)
    record = await _in_session(request, lambda s: why(s, household_id, offer_id))
    return web.json_response(record.as_json())


@table.delete("/api/v1/me/data")
async def delete_data(request: web.Request) -> web.Response:
    """Withdraw every consent and erase what was said and measured (irreversible): every ERASE
    table (``bot.household.erasure``) and Rasa's trackers of the household's conversations."""
    device = await request_device(request)
    channel = await _in_session(request, lambda s: _channel(s, device.device_id))
    erased = await erase_household(
        request.app[ENGINE],
        request.app[TRACKERS],
        device.household_id,
        now=utcnow(),
        channel=channel,
        notice=consent.NOTICE_VERSION,
    )
    return web.json_response(
        {
            "deleted": {"readings": erased.readings, "faults": erased.faults, "rows": erased.rows},
            "trackers_erased": len(erased.conversations),
            "scopes_withdrawn": list(erased.scopes_withdrawn),
            "kept": kept_tables(),
        }
    )


@table.get("/api/v1/me/export")
async def export_data(request: web.Request) -> web.Response:
    """Everything stored about the household, one JSON download (fields: docs/security.md)."""
    household_id = await _household(request)
    body = await _in_session(request, lambda s: export_household(s, household_id))
    return web.json_response(
        body, headers={"Content-Disposition": f'attachment; filename="household-{household_id}-export.json"'}
    )


def _application_card(session: Session, household_id: int, offer_id: int, title: str) -> dict[str, Any]:
    return status_card(
        applications.get(session, offer_id, household_id),
        why(session, household_id, offer_id),
        title,
        phone_only=applications.phone_only(session, offer_id),
    )


@table.get("/api/v1/me/applications")
async def list_applications(request: web.Request) -> web.Response:
    """Every application of the household, newest first: state, audited terms, partner, history."""
    household_id = await _household(request)
    found = await _in_session(request, lambda s: applications.household_applications(s, household_id))
    return web.json_response({"applications": found})


@table.get("/api/v1/me/applications/{offer_id}")
async def get_application(request: web.Request) -> web.Response:
    """The ``application_status`` card of the application started from an offer."""
    household_id = await _household(request)
    offer_id = _offer_id(request)
    card = await _in_session(request, lambda s: _application_card(s, household_id, offer_id, "申请状态"))
    return web.json_response(card)


def _device_category(session: Session, device_id: int) -> str:
    device = session.get(Device, device_id)
    return device.category if device else ""


@table.post("/api/v1/me/applications/{offer_id}/confirm")
async def confirm_application(request: web.Request) -> web.Response:
    """A panel's tap completes a pending application (idempotent); any other device gets a 403
    naming the screens that can (the panel, or the phone page behind the panel's QR)."""
    device = await request_device(request)
    offer_id = _offer_id(request)

    def confirm(session: Session) -> dict[str, Any]:
        applications.get(session, offer_id, device.household_id)  # 404 before 403: ids stay private
        via = applications.confirm_channel(_device_category(session, device.device_id))
        applications.confirm(session, offer_id, device.household_id, utcnow(), via=via)
        return _application_card(session, device.household_id, offer_id, "已确认")

    return web.json_response(await _in_session(request, confirm))


@table.post("/api/v1/me/applications/{offer_id}/cancel")
async def cancel_application(request: web.Request) -> web.Response:
    """Cancel within the cancellation window (idempotent when already cancelled)."""
    device = await request_device(request)
    offer_id = _offer_id(request)

    def cancel(session: Session) -> dict[str, Any]:
        panel = _device_category(session, device.device_id) == DeviceCategory.PANEL
        applications.cancel(session, offer_id, device.household_id, utcnow(), via="panel" if panel else "api")
        return _application_card(session, device.household_id, offer_id, "已取消")

    return web.json_response(await _in_session(request, cancel))


@table.get("/api/v1/me/applications/{offer_id}/qr")
async def application_qr(request: web.Request) -> web.Response:
    """A fresh phone link (single use, short-lived) and its QR code (SVG): to confirm a pending
    application, or to cancel one inside its window."""
    household_id = await _household(request)
    offer_id = _offer_id(request)

    def mint(session: Session) -> tuple[str, str]:
        app = applications.get(session, offer_id, household_id)
        if not applications.open_on_phone(app, utcnow()):
            raise ApplicationError("这笔申请已无法在手机上确认或取消", code="not_open")
        token = phone_links.mint(session, app.application_id, utcnow())
        return token, phone_links.LINK_TTL_TEXT

    token, ttl = await _in_session(request, mint)
    payload = f"{public_base(request)}/phone/{token}"
    return web.json_response({"payload": payload, "svg": qr_svg(payload), "valid_for": ttl})


def public_base(request: web.Request) -> str:
    """The https base URL phones reach this gateway at (``public_url``, else the request's host)."""
    configured = request.app[CONFIG].public_url.rstrip("/")
    return configured or f"https://{request.host}"


def qr_svg(payload: str) -> str:
    """A standalone SVG document (with its namespace) of the QR code of ``payload``."""
    out = io.BytesIO()
    segno.make(payload, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, dark="#111", light="#fff"
    )
    return out.getvalue().decode("ascii")


SCOPES = tuple(s.value for s in ConsentScope)
"""Consent scopes, for the OpenAPI description."""
