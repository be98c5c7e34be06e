"""``bot tenant apply|show|check``: a manufacturer's configuration file (docs/manufacturers.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.store.db import in_session
from bot.tenants.config import apply_tenant_config, dump_tenant_config, load_tenant_config, tenant_config_of


def register(subparsers: Any) -> None:
    """Add ``bot tenant``."""
    tenant = subparsers.add_parser("tenant", help="manufacturer (tenant) configuration")
    sub = tenant.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    apply = sub.add_parser("apply", help="validate a tenant TOML file and store it (creates the tenant)")
    apply.add_argument("file", type=Path, help="tenant configuration, e.g. bot/seed/data/tenants/zhijia.toml")
    apply.set_defaults(handler=_apply)
    show = sub.add_parser("show", help="print a tenant's stored configuration (TOML, or JSON)")
    show.add_argument("tenant_id", help="tenant id, e.g. demo")
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    show.set_defaults(handler=_show)
    check = sub.add_parser("check", help="validate a tenant TOML file only (no database)")
    check.add_argument("file", type=Path, help="tenant configuration file")
    check.set_defaults(handler=_check)


def _apply(args: argparse.Namespace, config: Config) -> int:
    cfg = load_tenant_config(args.file)
    in_session(config.db_url, lambda s: apply_tenant_config(s, cfg))
    print(f"applied {args.file} to tenant {cfg.id} ({cfg.brand}, assistant {cfg.assistant_name})")
    return 0


def _show(args: argparse.Namespace, config: Config) -> int:
    cfg = in_session(config.db_url, lambda s: tenant_config_of(s, args.tenant_id))
    if args.json:
        print(json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print(dump_tenant_config(cfg), end="")
    return 0


def _check(args: argparse.Namespace, config: Config) -> int:
    cfg = load_tenant_config(args.file)
    print(f"{args.file}: ok (tenant {cfg.id}, {cfg.brand}, assistant {cfg.assistant_name})")
    return 0
