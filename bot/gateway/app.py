"""aiohttp app factory: shared objects under AppKeys, resources in cleanup_ctx, JSON errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.dialogue import Dialogue, RasaDialogue
from bot.errors import BotError
from bot.gateway import routes
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, RUNNER
from bot.store.db import make_engine
from bot.turns import TurnRunner

_LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes ``{"error": {"code", "message"}}`` with its status, never a trace."""
    try:
        return await handler(request)
    except BotError as err:
        if err.status >= 500:
            _LOGGER.warning("%s %s failed: %s", request.method, request.path, err.code)
        return web.json_response(err.to_json(), status=err.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": {"code": _http_code(exc.status), "message": exc.reason}}
        return web.json_response(body, status=exc.status)
    except Exception:
        _LOGGER.exception("unexpected error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "抱歉，系统开小差了，请稍后再试。"}}
        return web.json_response(body, status=500)


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "http_error")


def create_app(
    config: Config, *, engine: Engine | None = None, dialogue: Dialogue | None = None
) -> web.Application:
    """Build the gateway; the engine and dialogue can be injected (tests), else made from config."""
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[ENGINE] = engine or make_engine(config.db_url)
        app[HTTP] = aiohttp.ClientSession()
        app[DIALOGUE] = dialogue or RasaDialogue(
            app[HTTP], config.rasa_url, config.rasa_token, config.turn_timeout_s
        )
        idle = timedelta(minutes=config.session_idle_minutes)
        app[RUNNER] = TurnRunner(app[ENGINE], app[DIALOGUE], idle)
        yield
        await app[HTTP].close()
        if engine is None:
            app[ENGINE].dispose()

    app.cleanup_ctx.append(resources)
    app.add_routes(routes.table)
    return app
