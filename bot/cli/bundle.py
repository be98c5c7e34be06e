"""``bot bundle build|verify|install|rollback|list|status``: versioned skill bundles (docs/bundles.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.bundle.active import ACTIVE, PREVIOUS, InstalledBundle, linked
from bot.bundle.build import build_bundle
from bot.bundle.engine import stt_notice, stt_reference
from bot.bundle.errors import BundleError
from bot.bundle.install import install_bundle, installed, rollback
from bot.bundle.manifest import Manifest
from bot.bundle.signing import generate_key, key_id, load_private_key, pin_key, pinned_keys, unpin_key
from bot.bundle.verify import verify_bundle
from bot.config import Config
from bot.speech.settings import SpeechSettings


def register(subparsers: Any) -> None:
    """Add the ``bundle`` subcommands."""
    bundle = subparsers.add_parser("bundle", help="versioned skill bundles: build, verify, install, rollback")
    actions = bundle.add_subparsers(dest="bundle_command", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build", help="write one archive: model, spaCy pipeline, tenant, catalog, grammar"
    )
    build.add_argument(
        "--tenant", required=True, help="tenant id (its configuration and catalog are read from the database)"
    )
    build.add_argument("--out", type=Path, default=Path("dist"), help="output folder (default: dist)")
    build.add_argument("--version", help="bundle version (default: <date>.<content hash>)")
    build.add_argument(
        "--key", type=Path, help="the tenant's Ed25519 publisher key (unsigned: demo boxes only)"
    )
    build.set_defaults(handler=_build)
    keygen = actions.add_parser("keygen", help="make a tenant's publisher key pair (build machine)")
    keygen.add_argument("--tenant", required=True)
    keygen.add_argument("--out", type=Path, required=True, help="folder for <tenant>.key and <tenant>.pub")
    keygen.set_defaults(handler=_keygen)
    trust = actions.add_parser("trust", help="pin a tenant's publisher public key on this box")
    trust.add_argument("--tenant", required=True)
    trust.add_argument("public_key", type=Path)
    trust.set_defaults(handler=_trust)
    untrust = actions.add_parser("untrust", help="stop trusting a publisher key (after a rotation)")
    untrust.add_argument("--tenant", required=True)
    untrust.add_argument("key_id")
    untrust.set_defaults(handler=_untrust)
    keys = actions.add_parser("keys", help="publisher keys pinned on this box")
    keys.add_argument("--tenant", required=True)
    keys.set_defaults(handler=_keys)
    verify = actions.add_parser("verify", help="check an archive without installing it")
    verify.add_argument("file", type=Path)
    verify.add_argument("--json", action="store_true", help="print the manifest as JSON")
    verify.set_defaults(handler=_verify)
    install = actions.add_parser("install", help="verify, unpack, apply to the database, activate")
    install.add_argument("file", type=Path)
    install.add_argument("--switch-tenant", action="store_true", help="allow a bundle of another tenant")
    install.set_defaults(handler=_install)
    actions.add_parser("rollback", help="re-activate the previous bundle").set_defaults(handler=_rollback)
    actions.add_parser("list", help="installed bundles").set_defaults(handler=_list)
    status = actions.add_parser("status", help="active and previous bundle")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)


def _summary(manifest: Manifest) -> str:
    return (
        f"version {manifest.version}  tenant {manifest.tenant}  created {manifest.created_at}\n"
        f"model {manifest.model} (Rasa {manifest.engine.get('model_rasa', manifest.engine['rasa'])})  "
        f"files {len(manifest.files)}"
    )


def _build(args: argparse.Namespace, config: Config) -> int:
    key = load_private_key(args.key) if args.key else None
    built = build_bundle(config, args.tenant, args.out, args.version, key=key)
    signed = f"signed by key {key_id(key.public_key())}" if key else "UNSIGNED (installs only in demo mode)"
    print(f"✓ bundle written: {built.path}\n  sha256 {built.sha256}\n  {signed}\n{_summary(built.manifest)}")
    return 0


def _keygen(args: argparse.Namespace, config: Config) -> int:
    private, public = generate_key(args.out, args.tenant)
    print(f"✓ private key {private} (keep it on the build machine)\n  public key {public} (pin it on boxes)")
    return 0


def _trust(args: argparse.Namespace, config: Config) -> int:
    try:
        pem = args.public_key.read_bytes()
    except OSError as err:
        raise BundleError(
            "无法读取公钥文件", f"cannot read {args.public_key}", code="bundle_key_invalid"
        ) from err
    kid = pin_key(config.var_dir, args.tenant, pem)
    print(f"✓ key {kid} trusted for tenant {args.tenant}")
    return 0


def _untrust(args: argparse.Namespace, config: Config) -> int:
    if not unpin_key(config.var_dir, args.tenant, args.key_id):
        print(f"key {args.key_id} was not trusted for tenant {args.tenant}")
        return 1
    print(f"✓ key {args.key_id} no longer trusted for tenant {args.tenant}")
    return 0


def _keys(args: argparse.Namespace, config: Config) -> int:
    for kid in pinned_keys(config.var_dir, args.tenant):
        print(kid)
    return 0


def _verify(args: argparse.Namespace, config: Config) -> int:
    manifest = verify_bundle(config, args.file)
    print(manifest.to_json() if args.json else f"✓ bundle OK 校验通过: {args.file}\n{_summary(manifest)}")
    return 0


def _install(args: argparse.Namespace, config: Config) -> int:
    manifest = install_bundle(config, args.file, switch_tenant=args.switch_tenant)
    print(
        f"✓ installed and active 已安装并启用: {manifest.version} (tenant {manifest.tenant})\n"
        "  tenant configuration and catalog are applied now; a running `bot up` serves the new model "
        "after a restart"
    )
    local = stt_reference(SpeechSettings.from_config(config).model, config.models_dir)
    if notice := stt_notice(manifest.stt_model, local):
        print(f"⚠ {notice} (`bot models list`)")
    return 0


def _rollback(args: argparse.Namespace, config: Config) -> int:
    manifest = rollback(config)
    print(
        f"✓ rolled back 已回滚到: {manifest.version} (tenant {manifest.tenant}); "
        "restart `bot up` to serve its model"
    )
    return 0


def _entry(bundle: InstalledBundle | None) -> dict[str, Any] | None:
    if bundle is None:
        return None
    return {
        "version": bundle.version,
        "tenant": bundle.tenant,
        "created_at": bundle.created_at,
        "path": str(bundle.root),
    }


def _list(args: argparse.Namespace, config: Config) -> int:
    active, previous = linked(config.var_dir, ACTIVE), linked(config.var_dir, PREVIOUS)
    for bundle in installed(config):
        mark = (
            "*"
            if active and bundle.root == active.root
            else "-"
            if previous and bundle.root == previous.root
            else " "
        )
        print(f"{mark} {bundle.version:30} {bundle.tenant:12} {bundle.created_at}")
    return 0


def _status(args: argparse.Namespace, config: Config) -> int:
    state = {
        "active": _entry(linked(config.var_dir, ACTIVE)),
        "previous": _entry(linked(config.var_dir, PREVIOUS)),
    }
    if args.json:
        print(json.dumps(state, ensure_ascii=False, indent=2))
        return 0
    for name, entry in state.items():
        text = (
            f"{entry['version']} (tenant {entry['tenant']}, {entry['created_at']})"
            if entry
            else "none (models/)"
            if name == ACTIVE
            else "none"
        )
        print(f"{name:9} {text}")
    return 0
