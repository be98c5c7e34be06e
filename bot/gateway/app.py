"""aiohttp app factory: shared objects under AppKeys, resources in cleanup_ctx, JSON errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.admin.tokens import live_demo_tokens
from bot.config import Config
from bot.conversation.dialogue import Dialogue, RasaDialogue
from bot.conversation.dialogue_state import NoStateReader, RasaStateReader, StateReader
from bot.conversation.fairness import HouseholdGate
from bot.conversation.locks import make_locks
from bot.conversation.pipeline import Speech, VoicePipeline, load_speech
from bot.conversation.turns import TurnRunner
from bot.errors import APOLOGY, BotError, ConfigError, StoreError
from bot.events import EventType, PipelineEvent
from bot.gateway import (
    admin_routes,
    device_routes,
    events_routes,
    everyday_routes,
    jobs,
    nlu_routes,
    openapi,
    panel_routes,
    partner_routes,
    phone_routes,
    rights_routes,
    routes,
    studio_routes,
    voice_routes,
)
from bot.gateway.caps import Caps, Refusal
from bot.gateway.events_routes import EVENTS, EventHub
from bot.gateway.guard import GUARD, Guard
from bot.gateway.health import HEALTH_CACHE, HealthCache
from bot.gateway.infra_health import INFRA, InfraHealth
from bot.gateway.jobs import TRACKERS, finished_conversations, make_trackers
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, PIPELINE, RUNNER, SETTINGS, SPEECH, UPLOADS
from bot.gateway.settings import GatewaySettings
from bot.gateway.store_health import STORE_HEALTH, StoreHealth
from bot.partners.dispatcher import Dispatcher
from bot.rasa.store_checks import TrackerGuardedDialogue
from bot.store.db import make_engine, session_scope

_LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes ``{"error": {"code", "message"}}`` with its status, never a trace."""
    try:
        response = await handler(request)
        if request.path in TURN_PATHS and response.status == 200:
            request.app[STORE_HEALTH].succeeded()
        return response
    except BotError as err:
        if err.status >= 500:
            _LOGGER.warning("%s %s failed: %s", request.method, request.path, err.code)
        if isinstance(err, StoreError):
            request.app[STORE_HEALTH].failed(err)
        response = _error_response(request, err.to_json(), err.status)
        retry_after = getattr(err, "retry_after_s", None)  # rate limits, busy pools and caps
        if isinstance(retry_after, int | float):
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": {"code": _http_code(exc.status), "message": exc.reason}}
        return _error_response(request, body, exc.status)
    except Exception:
        _LOGGER.exception("unexpected error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": APOLOGY}}
        return _error_response(request, body, 500)


TURN_PATHS = frozenset({"/api/v1/converse", "/api/v1/converse/audio"})
"""Turn endpoints: their error bodies also carry the turn's ``events`` (one ``error`` event)."""


def _error_response(request: web.Request, body: dict[str, dict[str, str]], status: int) -> web.Response:
    """The JSON error response; on turn endpoints with an ``error`` event (a short apology for 5xx)."""
    if request.path not in TURN_PATHS:
        return web.json_response(body, status=status)
    error = body["error"]
    message = APOLOGY if status >= 500 else error["message"]
    event = PipelineEvent(EventType.ERROR, {"code": error["code"], "message": message, "status": status})
    return web.json_response({**body, "events": [event.to_json()]}, status=status)


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "http_error")


def create_app(
    config: Config,
    *,
    engine: Engine | None = None,
    dialogue: Dialogue | None = None,
    speech: Speech | None = None,
    states: StateReader | None = None,
) -> web.Application:
    """Build the gateway; engine, dialogue, speech and state reader can be injected (tests)."""
    settings = GatewaySettings.from_config(config)
    if config.public_url and not config.public_url.startswith("https://"):
        raise ConfigError("public_url must start with https:// (phones open it from the QR code)")
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config
    app[SETTINGS] = settings
    app[GUARD] = Guard.from_settings(settings)
    app[STORE_HEALTH] = StoreHealth()
    app[INFRA] = InfraHealth(config)
    app[HEALTH_CACHE] = HealthCache(settings.health_cache_s)
    app[UPLOADS] = upload_caps(settings)
    voice_routes.setup(app, settings)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        bound_default_executor(settings.db_threads)
        app[ENGINE] = engine or make_engine(config.db_url)
        if engine is None:  # a real gateway process (tests inject their database)
            await asyncio.to_thread(refuse_demo_tokens, app[ENGINE], config)
        app[HTTP] = aiohttp.ClientSession()
        app[DIALOGUE] = dialogue or RasaDialogue(
            app[HTTP], config.rasa_url, config.rasa_token, config.turn_timeout_s
        )
        if config.tracker_store_url:  # refuse turns Rasa answered without its tracker store
            app[DIALOGUE] = TrackerGuardedDialogue(app[DIALOGUE], app[INFRA].watch)
        idle = timedelta(minutes=config.session_idle_minutes)
        reader = states or _state_reader(app, config, dialogue, settings.read_dialogue_state)
        locks = make_locks(config.lock_store_url, config.lock_key_prefix)
        app[TRACKERS] = make_trackers(app, config, real_rasa=dialogue is None)
        finished = finished_conversations(app, config, real_rasa=dialogue is None)
        gate = HouseholdGate(settings.turn_slots, settings.household_turn_slots)
        app[RUNNER] = TurnRunner(
            app[ENGINE], app[DIALOGUE], idle, reader, locks, app[TRACKERS], gate, finished
        )
        app[SPEECH] = speech or await load_speech(config)
        app[PIPELINE] = VoicePipeline(app[RUNNER], app[SPEECH], app[ENGINE], settings.max_audio_s)
        app[EVENTS] = EventHub(app[ENGINE])
        async with app[EVENTS].watching(), _dispatching(app, settings.dispatch_outbox):
            yield
        await locks.close()
        if speech is None:
            app[SPEECH].close()
        await app[HTTP].close()
        if engine is None:
            app[ENGINE].dispose()

    app.cleanup_ctx.append(resources)
    app.on_shutdown.append(_end_event_streams)
    app.cleanup_ctx.append(jobs.retention)
    app.on_response_prepare.append(panel_routes.security_headers)
    app.add_routes(routes.table)
    app.add_routes(nlu_routes.table)
    app.add_routes(voice_routes.table)
    app.add_routes(rights_routes.table)
    app.add_routes(events_routes.table)
    app.add_routes(phone_routes.table)
    app.add_routes(partner_routes.table)
    app.add_routes(admin_routes.table)
    app.add_routes(device_routes.table)
    app.add_routes(everyday_routes.table)
    app.add_routes(openapi.table)
    app.add_routes(panel_routes.table)
    studio_routes.setup(app)
    return app


def bound_default_executor(threads: int) -> None:
    """The event loop's default executor (``asyncio.to_thread``: token lookups and every database
    call) becomes a pool of ``threads`` of its own; speech runs on the recogniser and synthesiser
    pools (``bot.conversation.pipeline``), so a burst of voice cannot take these threads."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
    asyncio.get_running_loop().set_default_executor(pool)


def upload_caps(settings: GatewaySettings) -> Caps:
    """Spoken-turn uploads per device and per process."""
    return Caps(
        settings.audio_uploads,
        settings.audio_uploads_per_token,
        full=Refusal("uploads_busy", "语音上传太多，请稍后再试或用文字输入"),
        mine=Refusal("too_many_uploads", "这台设备已有一段语音在处理，请等它完成"),
    )


def refuse_demo_tokens(engine: Engine, config: Config) -> None:
    """ConfigError naming the live demo tokens when demo mode is off (they are public)."""
    if config.demo:
        return
    try:
        with session_scope(engine) as session:
            found = live_demo_tokens(session)
    except StoreError:
        return  # no schema yet: nothing to refuse (health reports the database)
    if found:
        engine.dispose()
        raise ConfigError(
            f"demo mode is off but the database holds the public demo tokens {', '.join(found)}; "
            "revoke them with `bot tenant token revoke --demo` (or set demo = true / BOT_DEMO=true "
            "for a demo)",
            code="demo_tokens_present",
        )


def _dispatching(app: web.Application, wanted: bool) -> contextlib.AbstractAsyncContextManager[None]:
    """The outbox dispatcher's loop, when this process delivers the outbox."""
    return Dispatcher(app[ENGINE], app[HTTP]).running() if wanted else contextlib.nullcontext()


async def _end_event_streams(app: web.Application) -> None:
    """Open event streams end first, so shutting down does not wait for them."""
    if EVENTS in app:
        app[EVENTS].close_all()


def _state_reader(
    app: web.Application, config: Config, injected: Dialogue | None, wanted: bool
) -> StateReader:
    """Rasa's tracker when the gateway holds Rasa's token and talks to the real Rasa."""
    if not wanted or injected is not None or not config.rasa_token:
        return NoStateReader()
    return RasaStateReader(app[HTTP], config.rasa_url, config.rasa_token)
