"""The phone page behind the panel's QR: ``GET /phone/{token}`` and its API.

The link's token is the only credential (single use, short-lived, bound to one application):
the page shows the audited terms, APR first, with confirm and cancel. Confirming or cancelling
uses the link; an expired, used or unknown link gets a clear Chinese error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from sqlmodel import Session

from bot.finance.installments import apr_text
from bot.gateway.keys import ENGINE
from bot.gateway.panel_routes import PANEL_DIR
from bot.offers import applications, journey, phone_links
from bot.store.db import session_scope, utcnow
from bot.store.ledger import Application, OfferAudit

table = web.RouteTableDef()
T = TypeVar("T")


async def _in_session(request: web.Request, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with session_scope(request.app[ENGINE]) as session:
            return work(session)

    return await asyncio.to_thread(run)


@table.get("/phone/{token}")
async def phone_page(request: web.Request) -> web.FileResponse:
    """The page (static; its script reads the token from the address)."""
    response = web.FileResponse(
        PANEL_DIR / "phone.html", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _view(session: Session, app_id: int) -> dict[str, Any]:
    row = session.get(Application, app_id)
    offer = session.get(OfferAudit, row.offer_id) if row else None
    if row is None or offer is None:
        raise phone_links.PhoneLinkError("申请不存在", code="phone_link_unknown", status=404)
    record = applications.by_id(session, app_id)
    apr = offer.terms.get("apr") or (str(offer.apr) if offer.apr is not None else None)
    return {
        **record.as_json(),
        "terms": dict(offer.terms),
        "apr": apr,
        "apr_text": apr_text(Decimal(apr)) if apr else None,
        "partner": journey.partner_of(offer.terms),
    }


@table.get("/api/v1/phone/{token}")
async def phone_application(request: web.Request) -> web.Response:
    """The application behind a live link (viewing does not use the link)."""
    token = request.match_info["token"]

    def view(session: Session) -> dict[str, Any]:
        return _view(session, phone_links.resolve(session, token, utcnow()).application_id)

    return web.json_response(await _in_session(request, view))


async def _act(request: web.Request, what: str) -> web.Response:
    token = request.match_info["token"]

    def act(session: Session) -> dict[str, Any]:
        now = utcnow()
        link = phone_links.resolve(session, token, now, lock=True)
        record = applications.by_id(session, link.application_id)
        phone_links.use(session, link, now)
        if what == "confirm":
            applications.confirm(session, record.offer_id, record.household_id, now, via="phone")
        else:
            applications.cancel(session, record.offer_id, record.household_id, now, via="phone")
        return _view(session, link.application_id)

    return web.json_response(await _in_session(request, act))


@table.post("/api/v1/phone/{token}/confirm")
async def phone_confirm(request: web.Request) -> web.Response:
    """Confirm on the phone (uses the link)."""
    return await _act(request, "confirm")


@table.post("/api/v1/phone/{token}/cancel")
async def phone_cancel(request: web.Request) -> web.Response:
    """Cancel on the phone (uses the link)."""
    return await _act(request, "cancel")
