"""Subcommands that run the stack: db, train, serve, up, chat."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from aiohttp import web

from bot.cli import chat
from bot.cli.progress import progress_view
from bot.config import Config
from bot.gateway.app import create_app
from bot.rasa.training import train
from bot.stack.up import run_stack
from bot.store.db import migrate, new_revision


def register(subparsers: Any) -> None:
    """Add the stack's subcommands."""
    db = subparsers.add_parser("db", help="database schema")
    db.add_argument(
        "action",
        choices=["upgrade", "revision"],
        help="upgrade: apply all migrations; revision: autogenerate one from the models",
    )
    db.add_argument("-m", "--message", default="schema change", help="revision message")
    db.set_defaults(handler=_db)

    tr = subparsers.add_parser("train", help="train the Rasa model if the data changed")
    tr.add_argument("--force", action="store_true", help="train even if a model is current")
    tr.set_defaults(handler=_train)

    serve = subparsers.add_parser("serve", help="run only the gateway (Rasa and actions elsewhere)")
    serve.set_defaults(handler=_serve)

    up = subparsers.add_parser("up", help="start Rasa, the action server and the gateway")
    up.set_defaults(handler=_up)

    ch = subparsers.add_parser("chat", help="talk to the running gateway")
    ch.add_argument("--token", default="demo-zhang-speaker", help="device token")
    ch.add_argument("--url", help="gateway URL (default from config)")
    ch.add_argument("--json", action="store_true", help="print the raw JSON response")
    ch.add_argument("text", nargs="*", help="what to say; omit for an interactive session")
    ch.set_defaults(handler=_chat)


def _db(args: argparse.Namespace, config: Config) -> int:
    if args.action == "revision":
        new_revision(args.message)
        return 0
    migrate(config.db_url)
    print(f"schema up to date at {config.db_url}")
    return 0


def _train(args: argparse.Namespace, config: Config) -> int:
    with progress_view() as view:
        path, seconds = train(config, force=args.force, progress=view)
    state = "up to date" if seconds is None else f"trained in {seconds:.1f} s"
    print(f"model {path.name}: {state}")
    return 0


def _serve(args: argparse.Namespace, config: Config) -> int:
    web.run_app(
        create_app(config),
        host=config.host,
        port=config.port,
        reuse_port=config.gateway_workers > 1,  # several `bot serve` share the port (see docs/scale.md)
        access_log=None,
        print=lambda _: None,
    )
    return 0


def _banner(config: Config) -> None:
    base = f"http://{config.host}:{config.port}"
    print(f"\n家居金融语音助手 is up: {base}  (health: {base}/healthz)")
    print("tokens: `bot seed --demo` prints the demo ones (demo mode); real homes: docs/onboarding.md")
    print('try:  bot chat --token demo-zhang-speaker "我家空调这个月用了多少度电"')
    print("stop: Ctrl-C\n", flush=True)


def _up(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(run_stack(config, lambda line: print(line, flush=True), _banner))


def _chat(args: argparse.Namespace, config: Config) -> int:
    base = (args.url or f"http://{config.host}:{config.port}").rstrip("/")
    if args.text:
        return chat.one_shot(base, args.token, " ".join(args.text), args.json)
    return chat.interactive(base, args.token, args.json, sys.stdin, sys.stdout)
