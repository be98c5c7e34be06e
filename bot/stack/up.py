"""``bot up``: start Rasa, the action server and the gateway(s), wait for health, keep them running.

The same code runs both profiles; configuration alone selects the production one (SQL tracker
store, Redis lock store, RabbitMQ broker, several workers — see ``docs/scale.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.bundle.active import active_bundle, serving_command
from bot.bundle.install import load_installed
from bot.config import Config, config_env
from bot.errors import StackError
from bot.gateway.app import create_app, refuse_demo_tokens
from bot.gateway.infra_health import InfraHealth, infra_components
from bot.rasa.endpoints import redact, write_endpoints
from bot.rasa.probe import ComponentDown, probe
from bot.rasa.serve import TOKEN_ENV, isolated_command
from bot.rasa.store_checks import RasaLogWatch, fail_on_findings, verify_tracker_writes
from bot.rasa.training import SPACY_DIR, build_spacy, engine_env, model_path, rasa_executable
from bot.stack.jobs import daily_accrual
from bot.stack.supervisor import Component, GaveUp, Supervisor
from bot.store.db import make_engine, migrate
from bot.wyoming.server import WyomingService
from bot.wyoming.settings import WyomingSettings, host_port

Say = Callable[[str], None]
RASA = "Rasa server"


SERVING_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
"""TensorFlow's thread pools in the serving Rasa (an operator's own setting wins): a turn's NLU is a
few small matrix products, run one turn at a time in Rasa's event loop, and concurrency comes from the
stack's processes. Splitting them over threads cost ~2 ms more CPU per turn on 2 cores, no faster
(``bench/RESULTS.md``, issue 23)."""


def check_ports(config: Config) -> None:
    """Fail fast, naming the port, when something already listens where a component must bind."""
    wanted = [
        (RASA, "127.0.0.1", config.rasa_port, "BOT_RASA_PORT"),
        ("action server", "127.0.0.1", config.actions_port, "BOT_ACTIONS_PORT"),
        ("gateway", config.host, config.port, "BOT_PORT"),
    ]
    if "wyoming" in config.extra:
        wanted.append(
            ("Wyoming service", *host_port(WyomingSettings.from_config(config).uri), "[wyoming] uri")
        )
    for name, host, port, var in wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as the servers bind: connections of a stopped stack still closing (TIME_WAIT) don't count
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as err:
                raise StackError(
                    f"port {port} ({name}) is already in use on {host}: stop what holds it "
                    f"or choose another port with {var}",
                    code="port_in_use",
                ) from err


def components(config: Config, model: Path) -> list[Component]:
    """The children of ``bot up``, in start order; the in-process gateway is not one of them.

    Another long-running service of the stack is one more ``Component`` appended here: it is then
    started, health-checked, restarted when it dies and stopped with the others.
    """
    run_dir, log_dir = config.var_dir / "run", config.var_dir / "log"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    endpoints = write_endpoints(config, run_dir / "endpoints.yml")
    # Rasa's CLI through bot.rasa.serve: the same ``rasa run`` with two measured fixes for 3.6.21.
    rasa_executable(config)  # fails clearly when the engine environment is missing
    rasa_args = ["run", "--model", str(model), "--endpoints", str(endpoints)]
    credentials = str(config.project_dir / "credentials.yml")
    rasa_args += [
        "--credentials",
        credentials,
        "-i",
        "127.0.0.1",
        "-p",
        str(config.rasa_port),
        "--enable-api",
    ]
    python = config.engine_venv / "bin" / "python"
    rasa_argv = serving_command(
        model, config.project_dir, isolated_command(python, config.project_dir, rasa_args)
    )
    rasa_env = {**SERVING_THREADS, **engine_env(), TOKEN_ENV: config.rasa_token}  # not on the command line
    comps = [Component(RASA, rasa_argv, rasa_env, f"{config.rasa_url}/version", log_dir / "rasa.log")]
    app_env = dict(
        os.environ,
        SANIC_HOST="127.0.0.1",
        BOT_DATABASE_URL=config.db_url,
        ACTION_SERVER_SANIC_WORKERS=str(config.action_workers),
    )
    actions_argv = [str(config.app_venv / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions"]
    actions_argv += ["-p", str(config.actions_port)]
    comps.append(
        Component(
            "action server", actions_argv, app_env, f"{config.actions_url}/health", log_dir / "actions.log"
        )
    )
    comps += gateway_workers(config, log_dir)
    comps += consumers(config, log_dir)
    return comps


def gateway_workers(config: Config, log_dir: Path) -> list[Component]:
    """``gateway_workers - 1`` extra ``bot serve`` processes sharing the gateway's port."""
    env = {**os.environ, **config_env(config), "BOT_DATABASE_URL": config.db_url}
    argv = [sys.executable, "-m", "bot", "serve"]
    return [
        Component(f"gateway worker {n}", argv, env, None, log_dir / f"gateway-{n}.log")
        for n in range(2, config.gateway_workers + 1)
    ]


def consumers(config: Config, log_dir: Path) -> list[Component]:
    """The analytics consumer and the MQTT telemetry ingest, each when its broker URL is configured;
    in demo mode the partner simulator."""
    env = {**os.environ, **config_env(config), "BOT_DATABASE_URL": config.db_url}
    bot = [sys.executable, "-m", "bot"]
    wanted = [
        ("analytics consumer", config.event_broker_url, ["analytics", "consume"], "analytics.log"),
        ("MQTT telemetry ingest", config.mqtt_url, ["telemetry", "mqtt"], "mqtt.log"),
    ]
    comps = [Component(name, [*bot, *a], env, None, log_dir / log) for name, url, a, log in wanted if url]
    if config.demo and config.partner_sim:  # demo only: the simulated lender the tenants deliver to
        log = log_dir / "demo-partner.log"
        comps.append(Component("demo partner simulator", [*bot, "demo-partner"], env, None, log))
    return comps


async def preflight(config: Config) -> None:
    """Refuse to start, naming the service and its host, when a configured service is unreachable,
    or when the database holds the public demo tokens while demo mode is off."""
    engine = make_engine(config.db_url)
    try:
        await asyncio.to_thread(refuse_demo_tokens, engine, config)
    finally:
        engine.dispose()
    report, _ = await infra_components(InfraHealth(config, before_start=True))
    down = [
        f"{name} at {entry['url']} ({entry['error']})" for name, entry in report.items() if not entry["ok"]
    ]
    if down:
        raise StackError("configured service unreachable: " + "; ".join(down), code="service_unavailable")


class Stack:
    """The running processes of one ``bot up``."""

    def __init__(self, config: Config, say: Say):
        self.config = replace(config, rasa_token=config.rasa_token or secrets.token_urlsafe(24))
        self._say = say
        self._supervisor = Supervisor(self.config.project_dir, say)
        self._comps: list[Component] = []
        self._runner: web.AppRunner | None = None
        self._wyoming: WyomingService | None = None

    @property
    def procs(self) -> dict[str, asyncio.subprocess.Process]:
        """Child processes by component name."""
        return self._supervisor.procs

    async def start(self) -> None:
        """Start every component and wait until all are healthy; on failure stop what started."""
        check_ports(self.config)
        model = current_model(self.config)
        await preflight(self.config)
        migrate(self.config.db_url)
        try:
            self._comps = components(self.config, model)
            watch = RasaLogWatch(self.config.var_dir / "log" / "rasa.log")
            servers = [c for c in self._comps if c.health_url is not None]
            for comp in servers:
                await self._supervisor.spawn(comp)
            async with aiohttp.ClientSession() as http:
                for comp in servers:
                    await self._wait_healthy(http, comp, watch)
                await verify_tracker_writes(http, self.config)
            await self._start_wyoming()  # before the gateway: a healthy gateway means it listens too
            await self._start_gateway()
            for comp in self._comps:
                if comp.health_url is None:
                    await self._supervisor.spawn(comp)
        except BaseException:
            await self.stop()
            raise

    async def _wait_healthy(self, http: aiohttp.ClientSession, comp: Component, watch: RasaLogWatch) -> None:
        started = time.monotonic()
        self._say(f"… waiting for {comp.name} (log: {comp.log})")
        while True:
            proc = self.procs[comp.name]
            if comp.name == RASA:
                fail_on_findings(self.config, watch)
            if proc.returncode is not None:
                raise StackError(f"{comp.name} exited with code {proc.returncode}; see {comp.log}")
            with contextlib.suppress(ComponentDown):
                await probe(http, str(comp.health_url))
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
        shared = self.config.gateway_workers > 1
        await web.TCPSite(self._runner, self.config.host, self.config.port, reuse_port=shared).start()
        workers = f" ({self.config.gateway_workers} workers)" if shared else ""
        self._say(f"✓ gateway listening on http://{self.config.host}:{self.config.port}{workers}")
        for name, url in self._services().items():
            self._say(f"✓ {name}: {url}")

    async def _start_wyoming(self) -> None:
        """The Wyoming service for Home Assistant, in this process, when ``[wyoming]`` is configured."""
        if "wyoming" not in self.config.extra:
            return
        self._wyoming = await WyomingService.load(self.config)
        await self._wyoming.start()
        self._say(f"✓ Wyoming service (Home Assistant) listening on {self._wyoming.settings.uri}")

    def _services(self) -> dict[str, str]:
        cfg = self.config
        urls = {
            "tracker store": cfg.tracker_store_url,
            "lock store": cfg.lock_store_url,
            "event broker": cfg.event_broker_url,
        }
        return {name: redact(url) for name, url in urls.items() if url}

    async def wait(self, stop: asyncio.Event) -> int:
        """Keep children running (restarting the dead) until ``stop`` (exit 0) or one gives up (1)."""
        keepers = [asyncio.ensure_future(self._supervisor.supervise(c)) for c in self._comps]
        stopper = asyncio.ensure_future(stop.wait())
        accrual = asyncio.ensure_future(daily_accrual(self.config, self._say, stop))
        done, _ = await asyncio.wait([stopper, *keepers], return_when=asyncio.FIRST_COMPLETED)
        for fut in [stopper, accrual, *keepers]:
            fut.cancel()
        for fut in done - {stopper}:
            error = fut.exception()
            reason = error.message if isinstance(error, GaveUp) else f"supervision failed: {error!r}"
            self._say(f"✗ {reason}; shutting down")
            return 1
        return 0

    async def stop(self) -> None:
        """Stop the gateway (and the Wyoming service), then each child's process group (TERM, then KILL)."""
        if self._wyoming is not None:
            await self._wyoming.stop()
            self._wyoming = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._supervisor.stop()


async def run_stack(config: Config, say: Say, banner: Callable[[Config], None]) -> int:
    """Run the stack until Ctrl-C / SIGTERM or a component keeps crashing."""
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


def current_model(config: Config) -> Path:
    """The active bundle's model (``bot bundle install``), else the model matching the current data."""
    bundle = active_bundle(config.var_dir)
    if bundle is not None:
        load_installed(config, bundle.root)  # signature and every file again: refuse a changed bundle
        return bundle.model
    if not (config.project_dir / SPACY_DIR / "meta.json").exists():
        build_spacy(config)
    path = model_path(config)
    if not path.exists():
        raise StackError(f"no model trained for the current data ({path.name}): run `make train`")
    return path
