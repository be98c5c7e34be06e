"""Rasa's ``endpoints.yml`` from the configuration: action server, tracker store, lock store, broker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from bot.config import Config
from bot.errors import ConfigError

_PG_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"}
ADMIN_DB = "postgres"
"""Rasa connects here first and creates the tracker database when it is missing (``login_db``)."""


def redact(url: str) -> str:
    """``scheme://host:port/path`` of a URL: no user name, no password (safe for logs and errors)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _split(url: str, setting: str, schemes: set[str]) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as err:
        raise ConfigError(f"setting {setting!r}: not a valid URL ({redact(url)})") from err
    if parts.scheme not in schemes or not parts.hostname:
        wanted = " or ".join(sorted(f"{s}://" for s in schemes))
        raise ConfigError(f"setting {setting!r}: expected a {wanted} URL, got {redact(url)!r}")
    return parts


def tracker_store(url: str) -> dict[str, Any]:
    """Rasa's SQL tracker store on PostgreSQL (database created by Rasa when missing)."""
    parts = _split(url, "tracker_store_url", _PG_SCHEMES)
    db = parts.path.lstrip("/")
    if not db:
        raise ConfigError(f"setting 'tracker_store_url': no database name in {redact(url)!r}")
    store: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": parts.hostname,
        "port": parts.port or 5432,
        "db": db,
        "login_db": ADMIN_DB,
    }
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    return store


def lock_key_prefix(prefix: str) -> str:
    """Rasa accepts only alphanumeric lock key prefixes (it silently ignores others)."""
    cleaned = "".join(ch for ch in prefix if ch.isalnum())
    return cleaned or "bot"


def lock_store(url: str, prefix: str) -> dict[str, Any]:
    """Rasa's Redis lock store."""
    parts = _split(url, "lock_store_url", {"redis"})
    db = parts.path.lstrip("/") or "0"
    if not (db.isascii() and db.isdigit()):
        raise ConfigError(f"setting 'lock_store_url': database must be a number in {redact(url)!r}")
    store: dict[str, Any] = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db),
        "key_prefix": lock_key_prefix(prefix),
    }
    if parts.password:
        store["password"] = unquote(parts.password)
    return store


def event_broker(url: str, queue: str) -> dict[str, Any]:
    """Rasa's ``pika`` broker publishing to ``queue`` through an exchange of its own."""
    parts = _split(url, "event_broker_url", {"amqp", "amqps"})
    port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    return {
        "type": "pika",
        # Credentials go separately: Rasa inserts them into this URL itself.
        "url": f"{parts.scheme}://{parts.hostname}:{port}{parts.path}",
        "port": port,
        "username": unquote(parts.username or "guest"),
        "password": unquote(parts.password or "guest"),
        "queues": [queue],
        # Several stacks may share one RabbitMQ: Rasa's default fanout exchange would mix them.
        "exchange_name": f"{queue}.exchange",
        "connection_attempts": 3,
        "retry_delay_in_seconds": 1,
    }


def endpoints(config: Config) -> dict[str, Any]:
    """Everything Rasa must know about the services around it."""
    spec: dict[str, Any] = {"action_endpoint": {"url": f"{config.actions_url}/webhook"}}
    if config.tracker_store_url:
        spec["tracker_store"] = tracker_store(config.tracker_store_url)
    if config.lock_store_url:
        spec["lock_store"] = lock_store(config.lock_store_url, config.lock_key_prefix)
    if config.event_broker_url:
        spec["event_broker"] = event_broker(config.event_broker_url, config.event_queue)
    return spec


def write_endpoints(config: Config, path: Path) -> Path:
    """Write ``endpoints.yml`` readable by its owner only (it may hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        # JSON is YAML: no YAML dependency needed here, and quoting is always right.
        json.dump(endpoints(config), out, indent=2, ensure_ascii=False)
        out.write("\n")
    os.chmod(path, 0o600)
    return path
