"""DEMO ONLY — a partner (lender) simulator so the whole journey runs on one machine.

``bot up`` starts it in demo mode only (``bot demo-partner``). It receives the outbox deliveries of
the demo tenants' ``demo-lender`` endpoint, checks their signature with the tenant's shared secret,
deduplicates on the idempotency key, and a few seconds after a confirmation answers through the
same signed callback a real partner uses: approved, or declined (reason ``amount``) when the
amount is above ``decline_above``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.errors import AuthError, BotError
from bot.offers.applications import binding_amount
from bot.partners import signing
from bot.store.db import session_scope
from bot.tenants.config import tenant_config_of

_LOGGER = logging.getLogger(__name__)


@dataclass
class SimulatorSettings:
    """How the simulated lender behaves."""

    gateway_url: str
    """Where decisions are sent (``{gateway_url}/api/v1/partners/{partner}/decisions``)."""
    delay_s: float = 3.0
    """Seconds between a confirmation and the decision."""
    decline_above: Decimal | None = None
    """Decline (reason ``amount``) applications whose amount is above this; None: approve all."""


@dataclass
class _State:
    settings: SimulatorSettings
    engine: Engine
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


STATE = web.AppKey("simulator", _State)
HTTP = web.AppKey("simulator_http", aiohttp.ClientSession)


def create_simulator(settings: SimulatorSettings, engine: Engine) -> web.Application:
    """The simulator's aiohttp app."""
    app = web.Application()
    app[STATE] = _State(settings, engine)

    async def client(app: web.Application) -> AsyncIterator[None]:
        app[HTTP] = aiohttp.ClientSession()
        yield
        for task in list(app[STATE].tasks):
            task.cancel()
        await app[HTTP].close()

    app.cleanup_ctx.append(client)
    app.router.add_post("/deliveries", _receive)
    app.router.add_get("/deliveries", _list)
    app.router.add_get("/healthz", _health)
    return app


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "simulator": "demo-lender"})


async def _list(request: web.Request) -> web.Response:
    return web.json_response({"deliveries": request.app[STATE].deliveries})


def _secret(engine: Engine, tenant_id: str, partner: str) -> str:
    with session_scope(engine) as session:
        endpoint = tenant_config_of(session, tenant_id).partners.get(partner)
    if endpoint is None:
        raise AuthError("unknown partner", code="signature_invalid")
    return endpoint.secret


async def _receive(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await request.read()
    try:
        message = json.loads(body)
        secret = await asyncio.to_thread(_secret, state.engine, message["tenant_id"], message["partner"])
        signing.verify(secret, request.headers.get(signing.HEADER, ""), body, time.time())
    except (ValueError, KeyError, TypeError, BotError) as err:
        _LOGGER.warning("refused a delivery: %s", err)
        return web.json_response({"error": {"code": "refused", "message": str(err)}}, status=401)
    key = request.headers.get("Idempotency-Key", "")
    if key in state.seen:
        return web.json_response({"duplicate": True})
    state.seen.add(key)
    state.deliveries.append({"idempotency_key": key, "signed": True, **message})
    if message.get("kind") == "confirmation":
        task = asyncio.create_task(_decide(request.app, message, secret))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
    return web.json_response({"received": True})


def decision_for(settings: SimulatorSettings, terms: dict[str, str]) -> tuple[str, str]:
    """The simulated decision and reason category for an application's terms."""
    amount = binding_amount(terms)
    limit = settings.decline_above
    if limit is not None and amount is not None and amount > limit:
        return "declined", "amount"
    return "approved", ""


async def _decide(app: web.Application, message: dict[str, Any], secret: str) -> None:
    settings = app[STATE].settings
    await asyncio.sleep(settings.delay_s)
    decision, reason = decision_for(settings, message.get("terms", {}))
    payload = {
        "application_id": message["application_id"],
        "decision": decision,
        "reason": reason,
        "idempotency_key": f"sim-{message['application_id']}-{decision}",
    }
    body = json.dumps(payload).encode()
    url = f"{settings.gateway_url}/api/v1/partners/{message['partner']}/decisions"
    for attempt in range(10):
        headers = {"Content-Type": "application/json"}
        headers[signing.HEADER] = signing.signature(secret, body, int(time.time()))
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with app[HTTP].post(url, data=body, headers=headers) as resp:
                if resp.status < 500:
                    _LOGGER.info("decision %s sent: HTTP %s", decision, resp.status)
                    return
        await asyncio.sleep(min(10.0, 0.5 * 2**attempt))
