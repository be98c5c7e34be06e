"""``bot tenant create|apply|show|check|token``: a manufacturer, its configuration file
(docs/manufacturers.md) and its admin and designer tokens (docs/onboarding.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.admin import tokens
from bot.config import Config
from bot.errors import InputError
from bot.store.db import in_session, migrate, utcnow
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
    create = sub.add_parser("create", help="create a new manufacturer (tenant) with default configuration")
    create.add_argument("tenant_id", help="lowercase id, e.g. acme")
    create.add_argument("--name", required=True, help="company name")
    create.add_argument("--assistant-name", required=True, help="the assistant's name, e.g. 小安")
    create.add_argument("--brand", default="", help="brand (default: the name)")
    create.set_defaults(handler=_create)
    _register_tokens(sub)


def _register_tokens(sub: Any) -> None:
    token = sub.add_parser("token", help="admin and designer tokens: issue (printed once), list, revoke")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", help="issue a token (printed once, stored hashed)")
    issue.add_argument("--tenant", required=True, help="tenant id")
    issue.add_argument("--role", required=True, choices=tokens.ISSUABLE)
    issue.add_argument("--label", default="", help="who holds it, e.g. 运维-王工")
    issue.add_argument(
        "--expires-days", type=int, default=None, help="valid this many days (default: until revoked)"
    )
    issue.set_defaults(handler=_issue)
    listing = actions.add_parser("list", help="a tenant's tokens without secrets")
    listing.add_argument("--tenant", required=True, help="tenant id")
    listing.set_defaults(handler=_list)
    revoke = actions.add_parser("revoke", help="revoke a token by its id, or every public demo token")
    what = revoke.add_mutually_exclusive_group(required=True)
    what.add_argument("token_id", nargs="?", help="the token id shown by `bot tenant token list`")
    what.add_argument("--demo", action="store_true", help="revoke the fixed demo tokens (demo-admin, …)")
    revoke.add_argument("--tenant", help="tenant id (with a token id)")
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace, config: Config) -> int:
    migrate(config.db_url)
    tenant = in_session(
        config.db_url,
        lambda s: tokens.create_tenant(s, args.tenant_id, args.name, args.assistant_name, args.brand),
    )
    print(f"created tenant {tenant.id} ({tenant.name}, assistant {tenant.assistant_name})")
    print(f"next: bot tenant token issue --tenant {tenant.id} --role admin")
    return 0


def _issue(args: argparse.Namespace, config: Config) -> int:
    token, public_id = in_session(
        config.db_url,
        lambda s: tokens.issue(s, args.tenant, args.role, args.label, utcnow(), args.expires_days),
    )
    print(token)
    print(
        f"(token id {public_id}; shown once, stored hashed; "
        f"revoke: bot tenant token revoke {public_id} --tenant {args.tenant})",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace, config: Config) -> int:
    rows = in_session(config.db_url, lambda s: tokens.listing(s, args.tenant))
    for row in rows:
        state = (
            "revoked"
            if row["revoked_at"]
            else f"expires {row['expires_at']}"
            if row["expires_at"]
            else "live"
        )
        device = f" device {row['device_id']}" if row["device_id"] else ""
        print(f"{row['token_id']}  {row['role']:<8} {state:<10}{device}  {row['label']}")
    return 0


def _revoke(args: argparse.Namespace, config: Config) -> int:
    if args.demo:
        names = in_session(config.db_url, lambda s: tokens.revoke_demo_tokens(s, utcnow()))
        print(f"revoked {len(names)} demo token(s){': ' + ', '.join(names) if names else ''}")
        return 0
    if not args.tenant:
        raise InputError("请用 --tenant 指明厂商", code="missing_tenant")
    in_session(config.db_url, lambda s: tokens.revoke(s, args.tenant, args.token_id, utcnow()))
    print(f"revoked {args.token_id}")
    return 0


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
