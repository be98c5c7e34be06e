"""``bot bundle install`` / ``rollback``: verify, unpack, apply to the database, switch atomically.

Order matters: verify into a staging folder → rename it to ``var/bundles/<version>`` → apply the
tenant configuration and catalog snapshot in ONE transaction → replace the ``active`` symlink
(``previous`` remembers the one before). A failure before the switch leaves the running version,
its folder and the database as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.bundle import manifest as mf
from bot.bundle.active import ACTIVE, PREVIOUS, InstalledBundle, bundles_dir, linked, read_installed
from bot.bundle.archive import Extracted
from bot.bundle.errors import BundleError, corrupt, mismatch
from bot.bundle.signing import SIGNATURE
from bot.bundle.verify import Verified, check_contents, check_engine, check_files, trust_manifest, verify_into
from bot.config import Config
from bot.finance.catalog_io import import_catalog
from bot.speech.registry import file_sha256
from bot.store.db import make_engine, migrate, session_scope
from bot.tenants.config import apply_tenant_config

Apply = Callable[[Config, Verified], None]


def apply_to_database(config: Config, bundle: Verified) -> None:
    """Tenant configuration and catalog snapshot in one transaction (rows not in it are kept)."""
    migrate(config.db_url)
    engine = make_engine(config.db_url)
    try:
        with session_scope(engine) as session:
            apply_tenant_config(session, bundle.tenant)
            import_catalog(session, bundle.tenant.id, bundle.catalog)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _locked(base: Path) -> Iterator[None]:
    """One install or rollback at a time on this box."""
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _point(base: Path, name: str, version: str) -> None:
    """Atomically make ``base/name`` a relative symlink to ``version``."""
    tmp = base / f".{name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(version, tmp)
    os.replace(tmp, base / name)
    fd = os.open(base, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch(base: Path, version: str, current: InstalledBundle | None) -> None:
    if current is not None and current.version != version:
        _point(base, PREVIOUS, current.version)
    _point(base, ACTIVE, version)


def _place(staging: Path, target: Path, manifest: mf.Manifest) -> bool:
    """Move the verified staging folder to ``target``; False when that exact bundle is already there."""
    if target.exists():
        shutil.rmtree(staging)
        same = target / mf.MANIFEST
        if same.is_file() and mf.parse_manifest(same.read_text(encoding="utf-8")).digest == manifest.digest:
            return False
        raise BundleError(
            "该版本号已安装了不同的内容",
            f"version {manifest.version} is already installed with different content",
            code="bundle_version_exists",
        )
    staging.rename(target)
    return True


def _check_tenant(current: InstalledBundle | None, manifest: mf.Manifest, switch_tenant: bool) -> None:
    if current is not None and current.tenant != manifest.tenant and not switch_tenant:
        raise mismatch(
            mf.TENANT_FILE,
            f"本机运行厂商 {current.tenant} 的包，此包属于 {manifest.tenant}",
            f"this box serves tenant {current.tenant!r}, the bundle is for {manifest.tenant!r} "
            "(use --switch-tenant to change on purpose)",
        )


def install_bundle(
    config: Config, archive: Path, *, switch_tenant: bool = False, apply: Apply = apply_to_database
) -> mf.Manifest:
    """Verify, unpack, apply and activate ``archive``; any failure changes nothing."""
    base = bundles_dir(config.var_dir)
    with _locked(base):
        for leftover in base.glob(".staging-*"):  # from an install killed half-way
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
        staging.chmod(0o755)
        try:
            verified = verify_into(config, archive, staging)
            current = linked(config.var_dir, ACTIVE)
            _check_tenant(current, verified.manifest, switch_tenant)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        target = base / verified.manifest.version
        created = _place(staging, target, verified.manifest)
        try:
            apply(config, verified)
        except BaseException:
            if created:
                shutil.rmtree(target, ignore_errors=True)
            raise
        _switch(base, verified.manifest.version, current)
        return verified.manifest


def _installed_files(root: Path) -> dict[str, Extracted]:
    """Every file under ``root`` hashed; a link or special file there is refused."""
    files: dict[str, Extracted] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or not (path.is_dir() or path.is_file()):
            raise BundleError(
                "已安装的包内出现链接或特殊文件",
                "link or special file",
                code="bundle_unsafe_member",
                file=rel,
            )
        if path.is_file():
            files[rel] = Extracted(file_sha256(path), path.stat().st_size)
    return files


def load_installed(config: Config, root: Path) -> Verified:
    """Re-check an unpacked bundle on disk before re-using it (``bot up``, ``rollback``).

    The same checks as an install: signature under a key pinned for its tenant, data-only paths,
    every checksum, nothing unlisted, contents and engine.
    """
    try:
        raw = {
            name: (root / name).read_bytes() for name in (mf.MANIFEST, SIGNATURE) if (root / name).is_file()
        }
    except OSError as err:
        raise corrupt(mf.MANIFEST, "无法读取已安装的包", f"cannot read installed bundle ({err})") from err
    manifest = trust_manifest(config, raw).manifest
    check_files(manifest, _installed_files(root))
    tenant, catalog = check_contents(root, manifest)
    check_engine(config, root, manifest)
    return Verified(root, manifest, tenant, catalog)


def rollback(config: Config, *, apply: Apply = apply_to_database) -> mf.Manifest:
    """Re-activate the previous bundle (and re-apply its configuration and catalog)."""
    base = bundles_dir(config.var_dir)
    with _locked(base):
        previous = linked(config.var_dir, PREVIOUS)
        if previous is None:
            raise BundleError(
                "没有可以回滚的上一个版本", "no previous bundle to roll back to", code="bundle_no_previous"
            )
        verified = load_installed(config, previous.root)
        apply(config, verified)
        _switch(base, previous.version, linked(config.var_dir, ACTIVE))
        return verified.manifest


def installed(config: Config) -> list[InstalledBundle]:
    """Every unpacked bundle under ``var/bundles/``, oldest first."""
    base = bundles_dir(config.var_dir)
    if not base.is_dir():
        return []
    found = [
        read_installed(p)
        for p in base.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ]
    return sorted((b for b in found if b is not None), key=lambda b: (b.created_at, b.version))
