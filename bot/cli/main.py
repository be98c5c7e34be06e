"""The ``bot`` command line: each area registers its subcommands from its own ``bot.cli.<area>`` module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bot.config import Config, load_config
from bot.errors import BotError

_COMMAND_MODULES: tuple[str, ...] = (
    "bot.cli.stack",
    "bot.cli.seed",
    "bot.cli.telemetry",
    "bot.cli.analytics",
    "bot.cli.finance",
    "bot.cli.tenant",
    "bot.cli.nlu",
    "bot.cli.speech",
    "bot.cli.invariants",
    "bot.cli.bundle",
    "bot.cli.wyoming",
    "bot.cli.points",
    "bot.cli.partners",
)
"""Modules with a ``register(subparsers)`` function; add one line per area."""


class Handler(Protocol):
    """A subcommand: gets the parsed arguments and the loaded config, returns an exit code."""

    def __call__(self, args: argparse.Namespace, config: Config) -> int: ...


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="bot", description="家居金融语音助手 (smart-home voice skill)")
    parser.add_argument("--config", type=Path, help="TOML config file (else $BOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bot`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(file=args.config)
        handler: Handler = args.handler
        return handler(args, config)
    except BotError as err:
        print(f"error [{err.code}]: {err.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
