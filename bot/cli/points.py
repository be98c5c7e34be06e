"""``bot points accrue --month YYYY-MM``: credit the month's measured savings as green points (idempotent)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.progress import progress_view
from bot.config import Config
from bot.household.accrual import accrue_month, parse_month
from bot.store.db import in_session, utcnow


def register(subparsers: Any) -> None:
    """Add ``bot points accrue``."""
    cmd = subparsers.add_parser("points", help="green points jobs")
    sub = cmd.add_subparsers(dest="points_command", required=True)
    accrue = sub.add_parser("accrue", help="credit a settled month's measured savings (safe to run again)")
    accrue.add_argument("--month", required=True, help="the month, YYYY-MM")
    accrue.set_defaults(handler=_accrue)


def _accrue(args: argparse.Namespace, config: Config) -> int:
    month = parse_month(args.month)
    with progress_view() as view:
        report = in_session(config.db_url, lambda s: accrue_month(s, month, utcnow(), view))
    print(json.dumps(vars(report), ensure_ascii=False))
    return 0
