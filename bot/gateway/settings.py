"""Limits of the gateway: the ``[gateway]`` table of the TOML config file, validated once."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.errors import ConfigError


@dataclass(frozen=True)
class GatewaySettings:
    """Sizes, durations and rates the gateway accepts from one client."""

    max_audio_bytes: int = 8 * 1024 * 1024
    """Largest WAV body of ``POST /api/v1/converse/audio`` (30 s of 48 kHz stereo fits)."""
    max_audio_s: float = 30.0
    """Longest audio of one turn, uploaded or streamed."""
    body_timeout_s: float = 10.0
    """A request body must arrive within this (slow clients get a 408)."""
    rate_per_s: float = 5.0
    """Steady requests per second allowed per bearer token."""
    burst: int = 60
    """Requests a token may send at once before the steady rate applies (a panel opening its home
    screen makes about eight calls: a few reloads in a row must not be refused)."""
    ws_idle_timeout_s: float = 15.0
    """A voice websocket that sends nothing for this long is closed."""
    ws_max_frame_bytes: int = 64 * 1024
    """Largest websocket message (a 100 ms PCM frame at 48 kHz is 9.6 kB)."""
    read_dialogue_state: bool = True
    """Read Rasa's tracker after each turn (the ``intent`` event and grammar mode need it)."""
    dispatch_outbox: bool = True
    """Deliver the partner outbox from this process (off: another process, or a test, does it)."""
    turn_retention_hours: float = 24.0
    """Turn outcomes (transcripts, replies) and idle conversations with their Rasa trackers are
    deleted after this long (a retried ``turn_id`` is answered from its outcome until then)."""
    health_cache_s: float = 1.0
    """``/healthz`` computes its report at most once per this many seconds (0: every call)."""
    sweep_interval_s: float = 60.0
    """How often the retention job runs (it also expires due applications)."""
    turn_slots: int = 8
    """Turns this process lets into the dialogue at once; more wait, admitted round-robin by
    household (``bot.conversation.fairness``; 0: no limit). Enough to keep Rasa busy while some
    turns are at the action server (bench/RESULTS.md, issue 23)."""
    household_turn_slots: int = 2
    """Of those, turns of one household at once (0: up to ``turn_slots``): a household's burst
    leaves the other slots to other households, and its own devices overlap two at a time."""
    auth_failure_burst: int = 10
    """Failed token lookups one source may make before it is refused (``bot.gateway.guard``)."""
    auth_failure_rate_per_s: float = 0.2
    """Steady failed lookups per second allowed per source after that (one per 5 s)."""
    auth_lookups_per_source: int = 4
    """Lookups of not-yet-proven tokens one source may have running at once (more wait)."""
    trusted_proxies: str = "127.0.0.1,::1"
    """Comma-separated peer addresses whose ``X-Forwarded-For`` names the client (the nginx in
    front); from any other peer the header is ignored."""
    db_threads: int = 6
    """Threads of the database executor (token lookups, every query); speech never runs on it."""
    audio_uploads: int = 8
    """Spoken turns (``/converse/audio``) being received and decoded at once per process; more: 503
    ``uploads_busy`` before the body is read (bounds the memory of bodies in flight: 8 × 8 MB; the
    decoding itself is bounded by the recogniser pool, ``stt_busy``)."""
    audio_uploads_per_token: int = 1
    """Spoken turns one device may have being received and decoded at once; more: 429 (checked
    before the body)."""
    ws_auth_timeout_s: float = 5.0
    """A voice websocket opened without an ``Authorization`` header must send its token this soon."""
    ws_per_token: int = 2
    """Open voice websockets per device."""
    ws_max: int = 200
    """Open voice websockets per gateway process (authenticated or not)."""
    ws_pending_per_source: int = 4
    """Voice websockets one source may hold open before they authenticated."""
    ws_max_run_s: float = 60.0
    """Longest listening of one run (from ``start``, or from the wake phrase, to its final)."""
    ws_max_wake_s: float = 600.0
    """Longest wait for the wake phrase in one run (the client then starts another run)."""
    ws_send_buffer_bytes: int = 4 * 1024 * 1024
    """Output waiting for a client; a client that lets more pile up is closed (slow consumer)."""
    ws_send_timeout_s: float = 10.0
    """One message must reach the client's socket within this, or the client is closed."""

    @classmethod
    def from_config(cls, config: Config) -> GatewaySettings:
        """Defaults, then the config file's ``[gateway]`` table."""
        table = config.extra.get("gateway", {})
        if not isinstance(table, dict):
            raise ConfigError("[gateway] must be a table")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(table) - fields
        if unknown:
            raise ConfigError(f"unknown gateway setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**_typed(table))
        settings.check()
        return settings

    def check(self) -> None:
        """ConfigError for values that cannot work."""
        if min(self.max_audio_bytes, self.ws_max_frame_bytes, self.ws_send_buffer_bytes) < 1024:
            raise ConfigError("gateway byte limits must be at least 1024")
        if min(_positive(self)) <= 0:
            raise ConfigError("gateway durations and rates must be positive")
        if self.health_cache_s < 0:
            raise ConfigError("gateway.health_cache_s must not be negative")
        for name in _COUNTS:
            if getattr(self, name) < 1:
                raise ConfigError(f"gateway.{name} must be at least 1")
        if min(self.turn_slots, self.household_turn_slots) < 0:
            raise ConfigError("gateway.turn_slots and gateway.household_turn_slots must not be negative")
        for part in self.trusted_proxies.split(","):
            if part.strip() and not _is_ip(part.strip()):
                raise ConfigError(f"gateway.trusted_proxies: {part.strip()!r} is not an IP address")


_COUNTS = (
    "burst",
    "auth_failure_burst",
    "auth_lookups_per_source",
    "db_threads",
    "audio_uploads",
    "audio_uploads_per_token",
    "ws_per_token",
    "ws_max",
    "ws_pending_per_source",
)
"""Settings that count something and must be at least 1."""


def _positive(s: GatewaySettings) -> tuple[float, ...]:
    """Durations and rates that must be above zero."""
    return (
        s.max_audio_s, s.body_timeout_s, s.rate_per_s, s.ws_idle_timeout_s, s.turn_retention_hours,
        s.sweep_interval_s, s.auth_failure_rate_per_s, s.ws_auth_timeout_s, s.ws_max_run_s,
        s.ws_max_wake_s, s.ws_send_timeout_s,
    )  # fmt: skip


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _typed(table: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.name: f.type for f in dataclasses.fields(GatewaySettings)}
    out: dict[str, Any] = {}
    for key, raw in table.items():
        try:
            if kinds[key] in ("bool", bool):
                out[key] = raw if isinstance(raw, bool) else str(raw).lower() in {"1", "true", "yes", "on"}
            elif kinds[key] in ("str", str):
                out[key] = ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
            else:
                out[key] = float(raw) if kinds[key] in ("float", float) else int(raw)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"gateway.{key}: cannot use {raw!r}") from err
    return out
