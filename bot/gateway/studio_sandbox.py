"""Which Rasa a tenant's studio sandbox talks to: the tenant's studio Rasa server once it trained a
model from its working copy (``bot.rasa.studio_server``), else the production server (read only:
sandbox households are the studio's own). Real devices always talk to the production server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from bot.conversation.dialogue import Dialogue, RasaDialogue
from bot.conversation.dialogue_state import RasaStateReader
from bot.conversation.locks import LocalLocks
from bot.conversation.trackers import RasaApiTrackers, TrackerEraseError
from bot.conversation.turns import TurnRunner
from bot.gateway.jobs import TRACKERS
from bot.gateway.keys import CONFIG, DIALOGUE, ENGINE, HTTP, RUNNER
from bot.rasa.studio_server import StudioServers
from bot.studio.runner import Forget


@dataclass(frozen=True)
class SandboxRasa:
    """The dialogue a tenant's sandbox conversations go to."""

    dialogue: Dialogue
    runner: TurnRunner
    url: str
    token: str
    model: str | None
    """The studio model's file name; None: the production server's model."""


@dataclass
class _State:
    servers: StudioServers | None = None
    by_tenant: dict[str, tuple[int, SandboxRasa]] | None = None


STATE = web.AppKey("studio_rasa", _State)


def setup(app: web.Application) -> None:
    """The studio Rasa servers live as long as the gateway."""
    app[STATE] = _State()
    app.cleanup_ctx.append(_servers)


async def _servers(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    state.servers, state.by_tenant = StudioServers(app[CONFIG], app[HTTP]), {}
    yield
    await state.servers.close()


def servers(app: web.Application) -> StudioServers:
    """The gateway's studio Rasa servers."""
    found = app[STATE].servers
    if found is None:
        raise RuntimeError("the studio's Rasa servers start with the gateway")
    return found


def rasa_for(app: web.Application, tenant_id: str) -> SandboxRasa:
    """The tenant's studio server when one runs, else the production server."""
    config, state = app[CONFIG], app[STATE]
    server = servers(app).get(tenant_id)
    if server is None:
        return SandboxRasa(app[DIALOGUE], app[RUNNER], config.rasa_url, config.rasa_token, None)
    cache = state.by_tenant if state.by_tenant is not None else {}
    known = cache.get(tenant_id)
    if known is not None and known[0] == server.port:
        return known[1]
    http = app[HTTP]
    dialogue = RasaDialogue(http, server.url, server.token, config.turn_timeout_s)
    runner = TurnRunner(
        app[ENGINE],
        dialogue,
        timedelta(minutes=config.session_idle_minutes),
        RasaStateReader(http, server.url, server.token),
        LocalLocks(),
        RasaApiTrackers(http, server.url, server.token),
    )
    sandboxed = SandboxRasa(dialogue, runner, server.url, server.token, server.model.name)
    cache[tenant_id] = (server.port, sandboxed)
    return sandboxed


def forgetter(app: web.Application, tenant_id: str) -> Forget:
    """Erases sandbox trackers wherever they may be: the production server and the studio server."""

    async def forget(conversations: Sequence[str]) -> None:
        await app[TRACKERS].erase(conversations)
        server = servers(app).get(tenant_id)
        if server is not None:
            with contextlib.suppress(TrackerEraseError):  # its store is in memory: it goes with it
                await RasaApiTrackers(app[HTTP], server.url, server.token).erase(conversations)

    return forget
