"""``bot invariants [--json]``: check the issue-8 invariants over the configured database."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.config import Config
from bot.store.db import in_session
from bot.store.invariants import check_all, summary


def register(subparsers: Any) -> None:
    """Add the ``invariants`` subcommand."""
    cmd = subparsers.add_parser("invariants", help="check turn, offer, consent and application invariants")
    cmd.add_argument("--json", action="store_true", help="print the violations as JSON")
    cmd.set_defaults(handler=_run)


def _run(args: argparse.Namespace, config: Config) -> int:
    violations = in_session(config.db_url, check_all)
    if args.json:
        body = {
            "violations": [v.as_json() for v in violations],
            "count": len(violations),
            "by_invariant": summary(violations),
        }
        print(json.dumps(body, ensure_ascii=False))
    elif not violations:
        print("all invariants hold")
    else:
        for v in violations:
            ids = " ".join(f"{k}={val}" for k, val in v.ids.items())
            print(f"{v.invariant}: {ids} {v.detail}".rstrip())
        print(f"{len(violations)} violation(s)")
    return 1 if violations else 0
