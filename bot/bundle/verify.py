"""``bot bundle verify``: signature, data-only paths, structure, every checksum, contents, engine.

The manifest and its signature are read from the head of the archive and checked (signature under
a key pinned for the bundle's tenant, every listed path a data path) before anything is extracted.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.bundle import manifest as mf
from bot.bundle.archive import Extracted, extract, read_head
from bot.bundle.engine import engine_versions, model_rasa_version
from bot.bundle.errors import BundleError, corrupt, mismatch
from bot.bundle.signing import SIGNATURE, verify_signature
from bot.config import Config
from bot.errors import ConfigError
from bot.finance.catalog_parse import Catalog, CatalogRejected, parse_json_catalog
from bot.tenants.config import TenantConfig, load_tenant_config

MAX_MANIFEST_BYTES = 4 << 20
REQUIRED = (mf.TENANT_FILE, mf.CATALOG_FILE, mf.GRAMMAR_FILE, mf.STT_REF_FILE, f"{mf.SPACY_DIR}/meta.json")


@dataclass(frozen=True)
class Verified:
    """A bundle unpacked into ``root`` that passed every check."""

    root: Path
    manifest: mf.Manifest
    tenant: TenantConfig
    catalog: Catalog


@dataclass(frozen=True)
class Trusted:
    """A manifest whose signature and paths passed, with the exact bytes that were checked."""

    manifest: mf.Manifest
    raw: dict[str, bytes]
    """``manifest.json`` (and ``manifest.sig`` when signed) as read."""
    key_id: str | None
    """The pinned key that signed it; None for an unsigned bundle accepted in demo mode."""


def trust_manifest(config: Config, raw: dict[str, bytes]) -> Trusted:
    """Parse ``manifest.json``, verify its signature for its own tenant, allow only data paths."""
    if mf.MANIFEST not in raw:
        raise corrupt(
            mf.MANIFEST, "缺少清单文件（必须是包内第一个文件）", "manifest.json must lead the archive"
        )
    try:
        manifest = mf.parse_manifest(raw[mf.MANIFEST].decode("utf-8"))
    except UnicodeDecodeError as err:
        raise corrupt(mf.MANIFEST, "清单文件不是 UTF-8", "manifest is not UTF-8") from err
    kid = verify_signature(
        config.var_dir, manifest.tenant, raw[mf.MANIFEST], raw.get(SIGNATURE), demo=config.demo
    )
    mf.check_paths(manifest)
    return Trusted(manifest, raw, kid)


def _same_head(trusted: Trusted, files: dict[str, Extracted]) -> None:
    """The files extracted are the ones whose bytes were verified (the archive did not change since)."""
    for name, data in trusted.raw.items():
        if files.get(name) != Extracted(hashlib.sha256(data).hexdigest(), len(data)):
            raise corrupt(name, "包文件在校验期间被改动", "archive changed while it was verified")


def check_files(manifest: mf.Manifest, files: dict[str, Extracted]) -> None:
    """Every listed file present with its size and SHA-256; nothing unlisted; required files listed."""
    for entry in manifest.files:
        got = files.get(entry.path)
        if got is None:
            raise corrupt(entry.path, "包内缺少文件", "file listed in the manifest is missing")
        if (got.sha256, got.size) != (entry.sha256, entry.size):
            raise corrupt(entry.path, "文件校验和不符", "checksum or size mismatch")
    listed = {e.path for e in manifest.files} | {mf.MANIFEST, SIGNATURE}
    for extra in sorted(set(files) - listed):
        raise corrupt(extra, "包内有清单未列出的文件", "file not listed in the manifest")
    for name in REQUIRED:
        if manifest.entry(name) is None:
            raise corrupt(name, "包内缺少必需文件", "required file is missing")
    if manifest.model != f"{mf.MODEL_DIR}/skill-{manifest.fingerprint}.tar.gz":
        raise corrupt(manifest.model, "模型文件名与指纹不符", "model name does not match the fingerprint")


def check_contents(root: Path, manifest: mf.Manifest) -> tuple[TenantConfig, Catalog]:
    """Tenant configuration validates and belongs to the bundle's tenant; catalog and grammar parse."""
    try:
        tenant = load_tenant_config(root / mf.TENANT_FILE)
    except ConfigError as err:
        raise BundleError(
            "厂商配置无效", err.message, code="bundle_config_invalid", file=mf.TENANT_FILE
        ) from err
    if tenant.id != manifest.tenant:
        raise mismatch(
            mf.TENANT_FILE,
            "厂商配置与包的厂商不一致",
            f"config is for {tenant.id!r}, bundle for {manifest.tenant!r}",
        )
    try:
        catalog = parse_json_catalog((root / mf.CATALOG_FILE).read_text(encoding="utf-8"))
    except (CatalogRejected, UnicodeDecodeError) as err:
        raise BundleError(
            "商品目录快照无效", str(err), code="bundle_catalog_invalid", file=mf.CATALOG_FILE
        ) from err
    try:
        grammar = json.loads((root / mf.GRAMMAR_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise corrupt(mf.GRAMMAR_FILE, "语法列表无法解析", "grammar lists are not JSON") from err
    if not isinstance(grammar, dict):
        raise corrupt(mf.GRAMMAR_FILE, "语法列表格式错误", "grammar lists must be an object")
    return tenant, catalog


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_engine(config: Config, root: Path, manifest: mf.Manifest) -> None:
    """The model's own Rasa version equals this box's engine; spaCy has the same minor version."""
    local = engine_versions(config)
    trained = model_rasa_version(root / manifest.model, manifest.model)
    if trained != local["rasa"]:
        raise mismatch(
            manifest.model,
            f"模型由 Rasa {trained} 训练，本机引擎是 Rasa {local['rasa']}",
            f"model trained with Rasa {trained}, this box runs Rasa {local['rasa']}",
        )
    if _minor(manifest.engine["spacy"]) != _minor(local["spacy"]):
        raise mismatch(
            mf.SPACY_DIR,
            f"spaCy 版本不兼容（包 {manifest.engine['spacy']}，本机 {local['spacy']}）",
            f"spaCy {manifest.engine['spacy']} in the bundle, {local['spacy']} on this box",
        )


def verify_into(config: Config, archive: Path, dest: Path) -> Verified:
    """Unpack ``archive`` into the empty folder ``dest`` and run every check."""
    trusted = trust_manifest(config, read_head(archive, (mf.MANIFEST, SIGNATURE), MAX_MANIFEST_BYTES))
    manifest = trusted.manifest
    files = extract(archive, dest, frozenset({e.path for e in manifest.files} | set(trusted.raw)))
    _same_head(trusted, files)
    check_files(manifest, files)
    tenant, catalog = check_contents(dest, manifest)
    check_engine(config, dest, manifest)
    return Verified(dest, manifest, tenant, catalog)


def verify_bundle(config: Config, archive: Path) -> mf.Manifest:
    """Check ``archive`` in a temporary folder; returns its manifest or raises BundleError."""
    with tempfile.TemporaryDirectory(prefix="bot-bundle-verify-") as tmp:
        return verify_into(config, archive, Path(tmp)).manifest
