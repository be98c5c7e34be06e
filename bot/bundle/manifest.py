"""``manifest.json``: what a bundle contains, for which engine, with a SHA-256 and size per file."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.bundle.errors import BundleError, corrupt

FORMAT = 1
"""Bundle format version; a reader refuses formats it does not know."""
MANIFEST = "manifest.json"
MODEL_DIR = "models"
"""Rasa model and spaCy pipeline, laid out as in the project (``config.yml`` loads models/spacy-zh)."""
SPACY_DIR = "models/spacy-zh"
TENANT_FILE = "tenant.toml"
CATALOG_FILE = "catalog.json"
GRAMMAR_FILE = "stt/grammar.json"
STT_REF_FILE = "stt/model.json"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_RESERVED = frozenset({"active", "previous"})
DATA_FILES = frozenset({TENANT_FILE, CATALOG_FILE, GRAMMAR_FILE, STT_REF_FILE})
"""The only files a bundle may ship besides its model and spaCy pipeline: data, never code."""
SPACY_SUFFIXES = frozenset({"", ".json", ".jsonl", ".cfg", ".txt", ".bin", ".msgpack", ".npy"})
"""File kinds of a spaCy pipeline folder (config, vocab, patterns, jieba dictionary): no code."""
_FINGERPRINT_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_SPACY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class FileEntry:
    """One file of the bundle."""

    path: str
    """POSIX path inside the archive."""
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """The bundle's table of contents."""

    version: str
    tenant: str
    created_at: str
    """ISO 8601 UTC."""
    model: str
    """Path of the Rasa model inside the bundle (``models/skill-<fingerprint>.tar.gz``)."""
    fingerprint: str
    """Training-input fingerprint the model was trained from."""
    engine: dict[str, str]
    """Versions the bundle was built with: ``rasa``, ``rasa_sdk``, ``spacy``."""
    stt_model: dict[str, Any]
    """Speech model reference (name, SHA-256 of its files); the model itself is not bundled."""
    files: list[FileEntry] = field(default_factory=list)
    format: int = FORMAT
    digest: str = ""
    """SHA-256 of this manifest with ``digest`` empty: an edited or damaged manifest is detected."""

    def to_json(self) -> str:
        """Stable JSON text (sorted keys) so equal inputs give equal bytes."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def sealed(self) -> Manifest:
        """This manifest with its digest filled in."""
        return replace(self, digest=self.expected_digest())

    def expected_digest(self) -> str:
        """The digest of the content (everything but ``digest``)."""
        return hashlib.sha256(replace(self, digest="").to_json().encode()).hexdigest()

    def entry(self, path: str) -> FileEntry | None:
        """The entry for ``path``, if listed."""
        return next((f for f in self.files if f.path == path), None)


def allowed_path(path: str, model: str) -> bool:
    """True for a data path a bundle may carry: the model, the spaCy pipeline's data, tenant files."""
    if path in DATA_FILES or path == model:
        return True
    prefix = f"{SPACY_DIR}/"
    if not path.startswith(prefix):
        return False
    parts = path[len(prefix) :].split("/")
    if len(parts) > 3 or not all(_SPACY_NAME_RE.match(p) for p in parts):
        return False
    name = parts[-1]
    suffix = name[name.rfind(".") :] if "." in name else ""
    return suffix in SPACY_SUFFIXES and not name.startswith("__")


def check_paths(manifest: Manifest) -> None:
    """Refuse a manifest listing anything but data (a ``.py`` file, another folder, a second model)."""
    if not _FINGERPRINT_RE.match(manifest.fingerprint):
        raise _bad("'fingerprint' must be letters and digits")
    for entry in manifest.files:
        if not allowed_path(entry.path, manifest.model):
            raise BundleError(
                "包内只允许数据文件（模型、分词管线、厂商配置、目录），不允许代码或其他文件",
                "only data files are allowed (model, spaCy pipeline, tenant config, catalog, "
                "speech model reference)",
                code="bundle_forbidden_file",
                file=entry.path,
            )


def check_version(version: str) -> str:
    """A bundle version usable as a folder name, or a BundleError."""
    if not VERSION_RE.match(version) or version in _RESERVED:
        raise BundleError(
            f"版本号不合法：{version!r}",
            f"invalid bundle version {version!r} (letters, digits, '.', '_', '-'; max 64)",
            code="bundle_bad_version",
        )
    return version


def _bad(reason: str) -> BundleError:
    return BundleError(
        "清单文件格式错误", f"manifest invalid: {reason}", code="bundle_manifest_invalid", file=MANIFEST
    )


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise _bad(f"{name!r} must be {kind.__name__}")
    return value


def _entries(raw: Any) -> list[FileEntry]:
    if not isinstance(raw, list) or not raw:
        raise _bad("'files' must be a non-empty list")
    entries: list[FileEntry] = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad("every file entry must be an object")
        entry = FileEntry(_field(item, "path", str), _field(item, "sha256", str), _field(item, "size", int))
        if not _SHA_RE.match(entry.sha256) or entry.size < 0:
            raise _bad(f"bad checksum or size for {entry.path!r}")
        entries.append(entry)
    if len({e.path for e in entries}) != len(entries):
        raise _bad("a file is listed twice")
    return entries


def parse_manifest(text: str) -> Manifest:
    """Validate ``manifest.json`` against the schema of :data:`FORMAT`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _bad(f"not JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise _bad("not a JSON object")
    if data.get("format") != FORMAT:
        raise BundleError(
            "不支持的包格式版本",
            f"unsupported bundle format {data.get('format')!r} (this reader knows {FORMAT})",
            code="bundle_mismatch",
            file=MANIFEST,
        )
    engine = _field(data, "engine", dict)
    if not all(isinstance(engine.get(k), str) for k in ("rasa", "rasa_sdk", "spacy")):
        raise _bad("'engine' needs rasa, rasa_sdk and spacy versions")
    manifest = Manifest(
        version=check_version(_field(data, "version", str)),
        tenant=_field(data, "tenant", str),
        created_at=_field(data, "created_at", str),
        model=_field(data, "model", str),
        fingerprint=_field(data, "fingerprint", str),
        engine={k: str(v) for k, v in engine.items()},
        stt_model=_field(data, "stt_model", dict),
        files=_entries(data.get("files")),
        digest=_field(data, "digest", str),
    )
    if manifest.digest != manifest.expected_digest():
        raise corrupt(
            MANIFEST, "清单文件被改动或已损坏", "manifest was edited or is damaged (digest mismatch)"
        )
    if manifest.entry(manifest.model) is None:
        raise _bad(f"model {manifest.model!r} is not among the files")
    return manifest
