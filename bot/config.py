"""Configuration as one frozen dataclass, loaded once in layers: defaults → file → environment → CLI."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout: Rasa's project files (``domain.yml``, ``data/``…) live here."""

_ENV_PREFIX = "BOT_"


@dataclass(frozen=True)
class Config:
    """Everything the processes of the skill need to know; passed down, never read globally."""

    project_dir: Path = PROJECT_ROOT
    """Rasa project folder (config.yml, domain.yml, data/, actions/)."""
    var_dir: Path = PROJECT_ROOT / "var"
    """Writable state: SQLite file, run files, logs."""
    models_dir: Path = PROJECT_ROOT / "models"
    """Trained Rasa models (and, later, provisioned speech models)."""
    database_url: str = ""
    """SQLAlchemy URL; empty means the embedded SQLite file under ``var_dir``."""
    host: str = "127.0.0.1"
    """Gateway bind address (the only network-facing process)."""
    port: int = 8080
    """Gateway port."""
    rasa_port: int = 5005
    """Rasa server port (always bound to 127.0.0.1)."""
    actions_port: int = 5055
    """Action server port (always bound to 127.0.0.1)."""
    engine_venv: Path = PROJECT_ROOT / ".venvs" / "engine"
    """Python 3.10 environment holding Rasa 3.6."""
    app_venv: Path = PROJECT_ROOT / ".venvs" / "app"
    """Python 3.11 environment holding the gateway, action server and CLI."""
    session_idle_minutes: int = 30
    """A device's conversation ends after this much silence; the next turn starts a new one."""
    rasa_token: str = ""
    """Token of Rasa's HTTP API; only the gateway holds it (``bot up`` makes one per run)."""
    turn_timeout_s: float = 15.0
    """How long the gateway waits for Rasa on one turn before apologising."""
    startup_timeout_s: float = 240.0
    """How long ``bot up`` waits for every component to become healthy."""
    tracker_store_url: str = ""
    """Rasa's SQL tracker store, e.g. ``postgresql://postgres@127.0.0.1:5432/bot_tracker``; empty: memory."""
    lock_store_url: str = ""
    """Redis for Rasa's lock store and the gateway's per-device locks, e.g. ``redis://127.0.0.1:6379/1``."""
    lock_key_prefix: str = "bot"
    """Prefix of every Redis key the stack writes (several stacks may share one Redis database)."""
    event_broker_url: str = ""
    """RabbitMQ for Rasa's ``pika`` event broker, e.g. ``amqp://guest:guest@127.0.0.1:5672/%2F``."""
    event_queue: str = "bot_events"
    """Queue Rasa publishes tracker events to (the analytics consumer reads it)."""
    mqtt_url: str = ""
    """MQTT broker of device telemetry, e.g. ``mqtt://127.0.0.1:1883``; empty: no MQTT ingest."""
    gateway_workers: int = 1
    """Gateway processes sharing the port (``SO_REUSEPORT``)."""
    action_workers: int = 1
    """Action server (Sanic) worker processes."""
    demo: bool = False
    """Demo mode: ``bot seed --demo`` may create the fixed demo tokens, and the gateway starts with
    them in its database (with demo off it refuses to, naming them)."""
    public_url: str = ""
    """https base URL phones reach the gateway at (the QR's phone link); empty: https://<request host>."""
    partner_sim: bool = True
    """Demo mode: ``bot up`` runs the partner simulator (off: deliveries find no partner, as when a
    real partner is down)."""
    partner_sim_port: int = 8091
    """Demo mode: port of the partner simulator (``bot demo-partner``) the demo tenants deliver to."""
    partner_sim_delay_s: float = 3.0
    """Demo mode: seconds the partner simulator takes to decide."""
    partner_sim_decline_above: str = ""
    """Demo mode: the simulator declines applications above this amount (元); empty: approves all."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Settings of later stages not modelled here yet (kept, not interpreted)."""

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        return self.database_url or f"sqlite:///{self.var_dir / 'bot.db'}"

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """Base URL of the action server."""
        return f"http://127.0.0.1:{self.actions_port}"


_PATH_FIELDS = {f.name for f in dataclasses.fields(Config) if f.type in ("Path", Path)}


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in dataclasses.fields(Config)}[name]
    try:
        if name in _PATH_FIELDS:
            return Path(str(raw)).expanduser().resolve()
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
        if kind in ("bool", bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in {"1", "true", "yes", "on"}
        return str(raw)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"setting {name!r}: cannot use {raw!r}") from err


def _overlay(base: Config, values: Mapping[str, Any], source: str) -> Config:
    known = {f.name for f in dataclasses.fields(Config)} - {"extra"}
    changes: dict[str, Any] = {}
    extra = dict(base.extra)
    for key, raw in values.items():
        if raw is None:
            continue
        if key in known:
            changes[key] = _coerce(key, raw)
        elif source == "file":
            extra[key] = raw
        else:
            raise ConfigError(f"unknown setting {key!r} from {source}")
    return dataclasses.replace(base, **changes, extra=extra)


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    values = {
        key[len(_ENV_PREFIX) :].lower(): val
        for key, val in env.items()
        if key.startswith(_ENV_PREFIX) and key != "BOT_CONFIG"
    }
    known = {f.name for f in dataclasses.fields(Config)}
    values = {k: v for k, v in values.items() if k in known}
    if env.get("DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    return values


def config_env(config: Config) -> dict[str, str]:
    """``BOT_*`` variables reproducing ``config`` in a child process (``extra`` is not carried)."""
    env = {}
    for f in dataclasses.fields(Config):
        if f.name == "extra":
            continue
        value = getattr(config, f.name)
        env[_ENV_PREFIX + f.name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def load_config(
    file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration: packaged defaults, then a TOML file, then ``BOT_*`` env, then CLI."""
    env = os.environ if env is None else env
    config = Config()
    path = file or (Path(env["BOT_CONFIG"]) if env.get("BOT_CONFIG") else None)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read config file {path}: {err}") from err
        config = _overlay(config, data, "file")
    config = _overlay(config, _from_env(env), "environment")
    return _overlay(config, overrides or {}, "command line")
