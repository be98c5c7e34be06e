"""HTTP health probes of the loopback components (Rasa, action server, gateway)."""

from __future__ import annotations

import aiohttp

from bot.errors import BotError

PROBE_TIMEOUT = aiohttp.ClientTimeout(total=3)


class ComponentDown(BotError):
    """A component did not answer its health check."""

    code = "component_down"
    status = 503


async def probe(http: aiohttp.ClientSession, url: str) -> None:
    """Raise ComponentDown unless ``url`` answers 200."""
    try:
        async with http.get(url, timeout=PROBE_TIMEOUT) as resp:
            if resp.status == 200:
                return
            raise ComponentDown(f"{url} answered {resp.status}")
    except (TimeoutError, aiohttp.ClientError) as err:
        raise ComponentDown(f"{url} unreachable") from err
