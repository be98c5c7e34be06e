"""Limits of the gateway: the ``[gateway]`` table of the TOML config file, validated once."""

from __future__ import annotations

import dataclasses
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
    burst: int = 20
    """Requests a token may send at once before the steady rate applies."""
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
    turn_slots: int = 2
    """Turns this process lets into the dialogue at once; more wait, admitted round-robin by
    household (``bot.conversation.fairness``; 0: no limit)."""

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
        if self.max_audio_bytes < 1024 or self.ws_max_frame_bytes < 1024:
            raise ConfigError("gateway byte limits must be at least 1024")
        durations = (self.max_audio_s, self.body_timeout_s, self.rate_per_s, self.ws_idle_timeout_s)
        if min(*durations, self.turn_retention_hours, self.sweep_interval_s) <= 0:
            raise ConfigError("gateway durations and rates must be positive")
        if self.health_cache_s < 0:
            raise ConfigError("gateway.health_cache_s must not be negative")
        if self.burst < 1:
            raise ConfigError("gateway.burst must be at least 1")
        if self.turn_slots < 0:
            raise ConfigError("gateway.turn_slots must not be negative")


def _typed(table: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.name: f.type for f in dataclasses.fields(GatewaySettings)}
    out: dict[str, Any] = {}
    for key, raw in table.items():
        try:
            if kinds[key] in ("bool", bool):
                out[key] = raw if isinstance(raw, bool) else str(raw).lower() in {"1", "true", "yes", "on"}
            else:
                out[key] = float(raw) if kinds[key] in ("float", float) else int(raw)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"gateway.{key}: cannot use {raw!r}") from err
    return out
