"""Deterministic tar.gz writing and safe extraction (no links, no escaping paths, size limits)."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from bot.bundle.errors import BundleError, corrupt

FIXED_MTIME = 946684800
"""2000-01-01T00:00:00Z: every member gets it, so equal content gives an equal archive."""
MAX_MEMBERS = 5000
MAX_FILE_BYTES = 1 << 30
MAX_TOTAL_BYTES = 2 << 30
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Extracted:
    """A file written by :func:`extract`: its SHA-256 and size as read from the archive."""

    sha256: str
    size: int


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = FIXED_MTIME
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(out: Path, root: Path, names: list[str], first: str | list[str]) -> None:
    """Write ``first`` (one name or several, in order) then ``names`` (sorted) into a reproducible tar.gz."""
    head = [first] if isinstance(first, str) else first
    ordered = [*head, *sorted(n for n in names if n not in head)]
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in ordered:
            path = root / name
            with path.open("rb") as handle:
                tar.addfile(_info(name, path.stat().st_size), handle)


def member_path(info: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's relative path (None for a directory), or a BundleError when unsafe."""
    name = info.name
    path = PurePosixPath(name)
    unsafe = (
        not name
        or "\\" in name
        or "\0" in name
        or path.is_absolute()
        or any(part in ("..", ".", "") for part in name.split("/"))
    )
    if unsafe:
        raise BundleError("包内路径不安全", "unsafe member path", code="bundle_unsafe_member", file=name)
    if info.isdir():
        return None
    if not info.isreg():
        raise BundleError(
            "包内不允许链接或特殊文件",
            "links and special files are not allowed",
            code="bundle_unsafe_member",
            file=name,
        )
    if info.size > MAX_FILE_BYTES:
        raise BundleError("包内文件过大", "member too large", code="bundle_too_large", file=name)
    return path


def _copy(src: IO[bytes], dest: Path) -> Extracted:
    digest = hashlib.sha256()
    size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("xb") as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return Extracted(digest.hexdigest(), size)


def read_head(archive: Path, names: tuple[str, ...], limit: int) -> dict[str, bytes]:
    """The leading members of ``archive`` named in ``names`` (in that order), read without extracting.

    Stops at the first member not in ``names``: the manifest and its signature lead the archive, so
    they are checked before a single byte of anything else is written.
    """
    head: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                rel = member_path(info)
                if rel is None or str(rel) not in names or str(rel) in head:
                    break
                if info.size > limit:
                    raise BundleError(
                        "清单或签名过大", "manifest too large", code="bundle_too_large", file=str(rel)
                    )
                src = tar.extractfile(info)
                head[str(rel)] = src.read() if src is not None else b""
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise corrupt(archive.name, "包文件已损坏", f"archive is damaged ({err})") from err
    except FileNotFoundError as err:
        raise BundleError(
            "找不到包文件", "no such bundle file", code="bundle_not_found", file=str(archive)
        ) from err
    return head


def extract(archive: Path, dest: Path, listed: frozenset[str] | None = None) -> dict[str, Extracted]:
    """Unpack regular files into the empty folder ``dest``, hashing them; refuses anything unsafe.

    With ``listed``, a member not in it is refused before it is written.
    """
    found: dict[str, Extracted] = {}
    total = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for count, info in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise BundleError("包内文件过多", "too many members", code="bundle_too_large")
                rel = member_path(info)
                if rel is None:
                    continue
                if str(rel) in found:
                    raise corrupt(str(rel), "包内文件重复", "duplicate member")
                if listed is not None and str(rel) not in listed:
                    raise corrupt(str(rel), "包内有清单未列出的文件", "file not listed in the manifest")
                total += info.size
                if total > MAX_TOTAL_BYTES:
                    raise BundleError("包过大", "bundle too large", code="bundle_too_large")
                src = tar.extractfile(info)
                if src is None:
                    raise corrupt(str(rel), "无法读取包内文件", "cannot read member")
                found[str(rel)] = _copy(src, dest.joinpath(*rel.parts))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise corrupt(archive.name, "包文件已损坏", f"archive is damaged ({err})") from err
    except FileNotFoundError as err:
        raise BundleError(
            "找不到包文件", "no such bundle file", code="bundle_not_found", file=str(archive)
        ) from err
    return found


def read_member(archive: Path, name: str, limit: int = 16 * _CHUNK) -> bytes | None:
    """One small member of a tar(.gz) such as a Rasa model's ``metadata.json``; None if absent."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for info in tar:
                if info.isreg() and info.name.lstrip("/") == name and info.size <= limit:
                    handle = tar.extractfile(info)
                    return handle.read() if handle else None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise corrupt(archive.name, "模型文件已损坏", f"model archive is damaged ({err})") from err
    return None
