"""The ``[wyoming]`` table: where the service listens, its gateway, which device a satellite is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.config import Config
from bot.errors import BotError, ConfigError

DEFAULT_PORT = 10700
"""The Wyoming port Home Assistant's integration suggests (CONTRACTS.md §5)."""
DEMO_SPEAKER_TOKEN = "demo-zhang-speaker"
"""In demo mode a satellite nobody mapped speaks as 张家's living-room speaker (the demo seed's token)."""
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


class UnknownSatellite(BotError):
    """A transcript from a satellite that no device of ours is configured for."""

    code = "unknown_satellite"
    status = 403


@dataclass(frozen=True)
class WyomingSettings:
    """How the Wyoming service is reached and whose turns its transcripts are."""

    uri: str = f"tcp://127.0.0.1:{DEFAULT_PORT}"
    """Where it listens (``tcp://HOST:PORT``)."""
    gateway_url: str = ""
    """The running gateway its conversation turns go to; empty: this configuration's gateway."""
    token: str = ""
    """Device token of the household device the service is paired to: turns that name no satellite."""
    satellites: Mapping[str, str] = field(default_factory=dict)
    """Home Assistant satellite id (or device id) → the device token of our device it stands for. Once
    any is listed, a satellite not listed is unknown (not handled); with none, all speak as ``token``."""
    demo: bool = False
    """Demo mode without a satellite list: every satellite speaks as the demo household's
    living-room speaker (with a list, an unlisted satellite is unknown, as outside demo mode)."""
    idle_timeout_s: float = 15.0
    """A connection that sends nothing for this long is closed (an open audio stream gets an error)."""
    max_event_bytes: int = 256 * 1024
    """Largest JSON header, data block or payload of one event (an audio chunk is a few kB)."""
    turn_timeout_s: float = 30.0
    """How long one conversation turn may take at the gateway."""

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> WyomingSettings:
        """Defaults, then the config file's ``[wyoming]`` table, then non-None overrides (CLI)."""
        table = config.extra.get("wyoming", {})
        if not isinstance(table, dict):
            raise ConfigError("[wyoming] must be a table")
        values: dict[str, Any] = {"demo": config.demo, **table}
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown wyoming setting(s): {', '.join(sorted(unknown))}")
        if not values.get("gateway_url"):
            host = "127.0.0.1" if config.host in _WILDCARD_HOSTS else config.host
            values["gateway_url"] = f"http://{host}:{config.port}"
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """ConfigError for values that cannot work."""
        host_port(self.uri)
        if not isinstance(self.satellites, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in self.satellites.items()
        ):
            raise ConfigError("[wyoming.satellites] maps satellite ids to device tokens (strings)")
        if min(self.idle_timeout_s, self.turn_timeout_s) <= 0 or self.max_event_bytes < 4096:
            raise ConfigError("wyoming timeouts must be positive and max_event_bytes at least 4096")

    def device_token(self, satellite_id: str | None, device_id: str | None = None) -> str:
        """The token of our device a transcript speaks as; UnknownSatellite when there is none."""
        named = [key for key in (satellite_id, device_id) if key]
        for key in named:
            if key in self.satellites:
                return self.satellites[key]
        if self.token and (not named or not self.satellites):
            return self.token  # a service paired to one device and no satellite list: every turn is its
        if self.demo and not self.satellites:  # a listed mapping is meant: others stay unknown
            return DEMO_SPEAKER_TOKEN
        if named:
            raise UnknownSatellite(
                f"语音卫星 {named[0]} 还没有对应的家庭设备，请在配置的 [wyoming.satellites] 里添加它"
            )
        raise UnknownSatellite("这个语音服务还没有绑定家庭设备，请在配置的 [wyoming] 里填写设备凭证 token")


def host_port(uri: str) -> tuple[str, int]:
    """(host, port) of a ``tcp://HOST:PORT`` URI; ConfigError otherwise."""
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError as err:
        raise ConfigError(f"wyoming uri {uri!r}: bad port") from err
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise ConfigError(f"wyoming uri must be tcp://HOST:PORT, not {uri!r}")
    return parts.hostname, port
