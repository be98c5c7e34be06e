"""``bot up``: start Rasa, the action server and the gateway, wait for health, stop them all cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Config
from bot.errors import StackError
from bot.gateway.app import create_app
from bot.probe import ComponentDown, probe
from bot.store.db import migrate
from bot.training import current_model, engine_env, rasa_executable

Say = Callable[[str], None]
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class Component:
    """A child process of the stack and how to tell that it is ready."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    log: Path


def check_ports(config: Config) -> None:
    """Fail fast, naming the port, when something already listens where a component must bind."""
    wanted = [
        ("Rasa server", "127.0.0.1", config.rasa_port, "BOT_RASA_PORT"),
        ("action server", "127.0.0.1", config.actions_port, "BOT_ACTIONS_PORT"),
        ("gateway", config.host, config.port, "BOT_PORT"),
    ]
    for name, host, port, var in wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as err:
                raise StackError(
                    f"port {port} ({name}) is already in use on {host}: stop what holds it "
                    f"or choose another port with {var}",
                    code="port_in_use",
                ) from err


def components(config: Config, model: Path) -> list[Component]:
    """The two loopback servers the gateway talks to."""
    run_dir = config.var_dir / "run"
    log_dir = config.var_dir / "log"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    endpoints = run_dir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{config.actions_url}/webhook"\n')
    rasa = Component(
        "Rasa server",
        [
            str(rasa_executable(config)),
            "run",
            "--model",
            str(model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            "credentials.yml",
            "-i",
            "127.0.0.1",
            "-p",
            str(config.rasa_port),
            "--enable-api",
            # One argv item: a random token may start with "-" and read as an option.
            f"--auth-token={config.rasa_token}",
        ],
        engine_env(),
        f"{config.rasa_url}/version",
        log_dir / "rasa.log",
    )
    app_env = dict(os.environ, SANIC_HOST="127.0.0.1", BOT_DATABASE_URL=config.db_url)
    actions = Component(
        "action server",
        [
            str(config.app_venv / "bin" / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "-p",
            str(config.actions_port),
        ],
        app_env,
        f"{config.actions_url}/health",
        log_dir / "actions.log",
    )
    return [rasa, actions]


class Stack:
    """The running processes of one ``bot up``."""

    def __init__(self, config: Config, say: Say):
        self.config = replace(config, rasa_token=config.rasa_token or secrets.token_urlsafe(24))
        self._say = say
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Start every component and wait until all are healthy; on failure stop what started."""
        check_ports(self.config)
        model = current_model(self.config)
        migrate(self.config.db_url)
        try:
            comps = components(self.config, model)
            for comp in comps:
                await self._spawn(comp)
            async with aiohttp.ClientSession() as http:
                for comp in comps:
                    await self._wait_healthy(http, comp)
            await self._start_gateway()
        except BaseException:
            await self.stop()
            raise

    async def _spawn(self, comp: Component) -> None:
        with comp.log.open("ab") as log:
            self._procs[comp.name] = await asyncio.create_subprocess_exec(
                *comp.argv,
                cwd=self.config.project_dir,
                env=comp.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    async def _wait_healthy(self, http: aiohttp.ClientSession, comp: Component) -> None:
        started = time.monotonic()
        self._say(f"… waiting for {comp.name} (log: {comp.log})")
        while True:
            proc = self._procs[comp.name]
            if proc.returncode is not None:
                raise StackError(f"{comp.name} exited with code {proc.returncode}; see {comp.log}")
            with contextlib.suppress(ComponentDown):
                await probe(http, comp.health_url)
                self._say(f"✓ {comp.name} ready in {time.monotonic() - started:.1f} s")
                return
            if time.monotonic() - started > self.config.startup_timeout_s:
                raise StackError(
                    f"{comp.name} not healthy after {self.config.startup_timeout_s:.0f} s; see {comp.log}"
                )
            await asyncio.sleep(0.5)

    async def _start_gateway(self) -> None:
        self._runner = web.AppRunner(create_app(self.config), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.config.host, self.config.port).start()
        self._say(f"✓ gateway listening on http://{self.config.host}:{self.config.port}")

    async def wait(self, stop: asyncio.Event) -> int:
        """Block until ``stop`` is set (exit 0) or a child dies (exit 1)."""
        waiters = {asyncio.ensure_future(p.wait()): name for name, p in self._procs.items()}
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        for fut in [stopper, *waiters]:
            fut.cancel()
        dead = [waiters[f] for f in done if f in waiters]
        if dead:
            self._say(
                f"✗ {', '.join(dead)} stopped unexpectedly; shutting down (see {self.config.var_dir / 'log'})"
            )
            return 1
        return 0

    async def stop(self) -> None:
        """Stop the gateway, then each child's whole process group (TERM, then KILL)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for proc in self._procs.values():
            _signal_group(proc, signal.SIGTERM)
        for name, proc in self._procs.items():
            try:
                await asyncio.wait_for(proc.wait(), _STOP_GRACE_S)
                await _wait_group_gone(proc.pid, _STOP_GRACE_S)
            except TimeoutError:
                self._say(f"{name} did not stop in {_STOP_GRACE_S:.0f} s; killing it")
                _signal_group(proc, signal.SIGKILL)
                await proc.wait()
        self._procs.clear()


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


async def _wait_group_gone(pgid: int, timeout_s: float) -> None:
    """Wait until every helper process the child started has exited too (TimeoutError if not)."""
    async with asyncio.timeout(timeout_s):
        while group_members(pgid):
            await asyncio.sleep(0.1)


async def run_stack(config: Config, say: Say, banner: Callable[[Config], None]) -> int:
    """Run the stack until Ctrl-C / SIGTERM or a component dies."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stack = Stack(config, say)
    starting = asyncio.ensure_future(stack.start())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopper], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        say("stopped before start-up finished")
        return 130
    stopper.cancel()
    starting.result()
    banner(stack.config)
    code = await stack.wait(stop)
    say("stopping …")
    await stack.stop()
    say("all components stopped")
    return code
