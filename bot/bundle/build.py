"""``bot bundle build``: one reproducible archive with everything a tenant's box needs to serve."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from bot.bundle import manifest as mf
from bot.bundle.archive import write_archive
from bot.bundle.engine import engine_versions, model_rasa_version, stt_reference
from bot.bundle.errors import BundleError
from bot.bundle.signing import SIGNATURE, sign_manifest
from bot.config import Config
from bot.conversation.grammar import GrammarState, phrases_for
from bot.errors import NotFoundError
from bot.finance.catalog import finance_plans, products
from bot.finance.catalog_io import list_catalog
from bot.rasa.training import MODEL_PREFIX, SPACY_DIR, train
from bot.speech.registry import file_sha256
from bot.speech.settings import SpeechSettings
from bot.store.db import make_engine, migrate, session_scope
from bot.tenants.config import dump_tenant_config, tenant_config_of


@dataclass(frozen=True)
class Built:
    """A written bundle."""

    path: Path
    manifest: mf.Manifest
    sha256: str
    """SHA-256 of the archive itself."""


def created_at() -> str:
    """Build time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _tenant_files(session: Session, tenant: str) -> dict[str, str]:
    """Tenant configuration, catalog snapshot and grammar lists, as file name → text."""
    items, plans = products(session, tenant), finance_plans(session, tenant)
    grammar = {state.value: phrases_for(state, items, plans) for state in GrammarState}
    return {
        mf.TENANT_FILE: dump_tenant_config(tenant_config_of(session, tenant)),
        mf.CATALOG_FILE: _json(list_catalog(session, tenant)),
        mf.GRAMMAR_FILE: _json(grammar),
    }


def _read_tenant(config: Config, tenant: str) -> dict[str, str]:
    migrate(config.db_url)
    engine = make_engine(config.db_url)
    try:
        with session_scope(engine) as session:
            return _tenant_files(session, tenant)
    except NotFoundError as err:
        raise BundleError(
            f"数据库里没有厂商 {tenant}",
            f"tenant {tenant!r} not in this database: apply its configuration (demo: `bot seed --demo`)",
            code="bundle_tenant_missing",
        ) from err
    finally:
        engine.dispose()


def _stage(config: Config, root: Path, tenant_files: dict[str, str], model: Path) -> dict[str, Any]:
    """Copy the model and spaCy pipeline, write the tenant files; returns the STT reference."""
    (root / mf.MODEL_DIR).mkdir()
    shutil.copyfile(model, root / mf.MODEL_DIR / model.name)
    shutil.copytree(config.project_dir / SPACY_DIR, root / mf.SPACY_DIR)
    for name, text in tenant_files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    stt = stt_reference(SpeechSettings.from_config(config).model, config.models_dir)
    (root / mf.STT_REF_FILE).write_text(_json(stt), encoding="utf-8")
    return stt


def _entries(root: Path) -> list[mf.FileEntry]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [mf.FileEntry(p.relative_to(root).as_posix(), file_sha256(p), p.stat().st_size) for p in files]


def default_version(stamp: str, entries: list[mf.FileEntry]) -> str:
    """``<date>.<content hash>``: equal content built the same day gets the same version."""
    digest = hashlib.sha256("".join(f"{e.path}:{e.sha256}\n" for e in entries).encode()).hexdigest()
    return f"{stamp[:10].replace('-', '')}.{digest[:10]}"


def model_fingerprint(model: Path) -> str:
    """The training-input fingerprint in a model's name (``skill-<fingerprint>.tar.gz``)."""
    return model.name.removeprefix(MODEL_PREFIX).removesuffix(".tar.gz")


def build_bundle(
    config: Config,
    tenant: str,
    out_dir: Path,
    version: str | None = None,
    model: Path | None = None,
    key: Ed25519PrivateKey | None = None,
) -> Built:
    """Train if needed, gather everything for ``tenant``, write ``bundle-<tenant>-<version>.tar.gz``.

    With ``key`` (the tenant's publisher key) the manifest is signed; without, the bundle installs
    only on a box in demo mode.
    """
    if version is not None:
        mf.check_version(version)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=out_dir) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        tenant_files = _read_tenant(config, tenant)  # fails fast, before any training
        model = model or train(config)[0]
        stt = _stage(config, root, tenant_files, model)
        bundled = root / mf.MODEL_DIR / model.name
        entries, stamp = _entries(root), created_at()
        manifest = mf.Manifest(
            version=version or default_version(stamp, entries),
            tenant=tenant,
            created_at=stamp,
            model=bundled.relative_to(root).as_posix(),
            fingerprint=model_fingerprint(model),
            engine={**engine_versions(config), "model_rasa": model_rasa_version(bundled, model.name)},
            stt_model=stt,
            files=entries,
        ).sealed()
        (root / mf.MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        head = [mf.MANIFEST]
        if key is not None:
            (root / SIGNATURE).write_bytes(sign_manifest((root / mf.MANIFEST).read_bytes(), key))
            head.append(SIGNATURE)
        partial = Path(tmp) / "bundle.tar.gz"
        write_archive(partial, root, [e.path for e in entries], first=head)
        target = out_dir / f"bundle-{tenant}-{manifest.version}.tar.gz"
        os.replace(partial, target)
    digest = file_sha256(target)
    Path(f"{target}.sha256").write_text(f"{digest}  {target.name}\n", encoding="utf-8")
    return Built(target, manifest, digest)
