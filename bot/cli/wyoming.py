"""``bot wyoming serve``: the skill as a Wyoming service for Home Assistant (STT, TTS, conversation)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from bot.config import Config
from bot.wyoming.server import serve
from bot.wyoming.settings import DEFAULT_PORT, WyomingSettings


def register(subparsers: Any) -> None:
    """Add ``bot wyoming serve``."""
    wy = subparsers.add_parser("wyoming", help="the Wyoming service for Home Assistant")
    actions = wy.add_subparsers(dest="wyoming_action", required=True, metavar="ACTION")
    sv = actions.add_parser("serve", help="serve STT, TTS and the conversation over the Wyoming protocol")
    sv.add_argument(
        "--uri", help=f"where to listen, tcp://HOST:PORT (default tcp://127.0.0.1:{DEFAULT_PORT})"
    )
    sv.add_argument("--gateway-url", help="the running gateway (default from config)")
    sv.add_argument("--token", help="device token of the paired household device")
    sv.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace, config: Config) -> int:
    settings = WyomingSettings.from_config(
        config, uri=args.uri, gateway_url=args.gateway_url, token=args.token
    )
    return asyncio.run(_run(config, settings))


async def _run(config: Config, settings: WyomingSettings) -> int:
    ready = asyncio.Event()
    task = asyncio.ensure_future(serve(config, settings, ready))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    waiter = asyncio.ensure_future(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if ready.is_set():
        print(f"Wyoming service listening on {settings.uri} (gateway {settings.gateway_url})", flush=True)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0
