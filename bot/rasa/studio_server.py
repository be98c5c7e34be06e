"""The studio's own Rasa servers: a model trained from a tenant's working copy, served for sandbox
conversations only, never by (or in place of) the production Rasa server.

One server per tenant that trained a model, each a ``rasa run`` on a free loopback port started by
the gateway process that trained it: the project's action server, Rasa's in-memory tracker store
(sandbox trackers go when the server goes), no lock store, no event broker (sandbox turns are not
analytics). A newer model of the same tenant is swapped in with Rasa's ``PUT /model`` on that
server. At most :data:`MAX_SERVERS` run at once (the least recently used one is stopped); all stop
with the gateway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.config import Config
from bot.conversation.rasa_auth import rasa_headers
from bot.errors import StackError
from bot.rasa.serve import TOKEN_ENV, isolated_command
from bot.rasa.training import engine_env, rasa_executable

_LOGGER = logging.getLogger(__name__)

MAX_SERVERS = 2
"""Studio Rasa servers one gateway runs at once (each holds a model in memory, ~1 GB)."""
START_TIMEOUT_S = 600.0
"""Loading TensorFlow, spaCy and a model on two busy cores takes a minute or more."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StudioRasa:
    """One running studio Rasa server."""

    tenant_id: str
    port: int
    token: str
    model: Path
    process: asyncio.subprocess.Process

    @property
    def url(self) -> str:
        """The server's base URL (loopback)."""
        return f"http://127.0.0.1:{self.port}"


class StudioServers:
    """The studio Rasa servers of one gateway, by tenant."""

    def __init__(self, config: Config, http: aiohttp.ClientSession):
        self._config = config
        self._http = http
        self._servers: OrderedDict[str, StudioRasa] = OrderedDict()
        self._lock = asyncio.Lock()

    def get(self, tenant_id: str) -> StudioRasa | None:
        """The tenant's running server, if any (alive)."""
        server = self._servers.get(tenant_id)
        if server is None or server.process.returncode is not None:
            return None
        self._servers.move_to_end(tenant_id)
        return server

    async def serve(self, tenant_id: str, model: Path) -> StudioRasa:
        """The tenant's server serving ``model``: swapped into its running server, else started."""
        async with self._lock:
            server = self.get(tenant_id)
            if server is not None:
                if server.model != model:
                    await self._swap(server, model)
                return server
            while len(self._servers) >= MAX_SERVERS:
                _, oldest = self._servers.popitem(last=False)
                await _stop(oldest)
            server = await self._start(tenant_id, model)
            self._servers[tenant_id] = server
            return server

    async def close(self) -> None:
        """Stop every server."""
        while self._servers:
            _, server = self._servers.popitem()
            await _stop(server)

    async def _start(self, tenant_id: str, model: Path) -> StudioRasa:
        config = self._config
        rasa_executable(config)
        run_dir = home(config, tenant_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        endpoints = run_dir / "endpoints.yml"
        endpoints.write_text(json.dumps({"action_endpoint": {"url": f"{config.actions_url}/webhook"}}) + "\n")
        port, token = _free_port(), secrets.token_urlsafe(24)
        args = ["run", "--model", str(model), "--endpoints", str(endpoints)]
        args += ["--credentials", str(config.project_dir / "credentials.yml")]
        args += ["-i", "127.0.0.1", "-p", str(port), "--enable-api"]
        argv = isolated_command(config.engine_venv / "bin" / "python", config.project_dir, args)
        log_dir = config.var_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"studio-rasa-{tenant_id}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=config.project_dir,
                env={**engine_env(), TOKEN_ENV: token},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        server = StudioRasa(tenant_id, port, token, model, process)
        try:
            await self._wait_for(server, model)
        except BaseException:
            await _stop(server)
            raise
        _LOGGER.info("studio Rasa for %s serves %s on port %d", tenant_id, model.name, port)
        return server

    async def _swap(self, server: StudioRasa, model: Path) -> None:
        """Rasa's ``PUT /model`` on the studio server (the production server is never asked)."""
        url = f"{server.url}/model"
        timeout = aiohttp.ClientTimeout(total=START_TIMEOUT_S)
        async with self._http.put(
            url, headers=rasa_headers(server.token), json={"model_file": str(model)}, timeout=timeout
        ) as resp:
            if resp.status != 204:
                raise StackError(f"studio Rasa refused the model {model.name}: HTTP {resp.status}")
        await self._wait_for(server, model)
        server.model = model

    async def _wait_for(self, server: StudioRasa, model: Path) -> None:
        """Until the server's ``/status`` names ``model``; StackError when it dies or takes too long."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise StackError(
                    f"studio Rasa exited (code {server.process.returncode}) loading {model.name}"
                )
            if await self._serving(server) == model.name:
                return
            await asyncio.sleep(1.0)
        raise StackError(f"studio Rasa did not load {model.name} in {START_TIMEOUT_S:.0f} s")

    async def _serving(self, server: StudioRasa) -> str | None:
        try:
            async with self._http.get(
                f"{server.url}/status",
                headers=rasa_headers(server.token),
                timeout=aiohttp.ClientTimeout(total=5),
            ) as resp:
                body = await resp.json() if resp.status == 200 else {}
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None
        return str(body.get("model_file") or "").rsplit("/", 1)[-1] or None


async def _stop(server: StudioRasa) -> None:
    process = server.process
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


def home(config: Config, tenant_id: str) -> Path:
    """A tenant's studio models and server files (``<var>/studio-rasa/<tenant>``, beside its
    working copy, not in it)."""
    return config.var_dir / "studio-rasa" / tenant_id
