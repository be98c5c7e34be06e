"""What a bundle must match: engine versions, the model's own Rasa version, the speech model reference."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

from bot.bundle.archive import read_member
from bot.bundle.errors import corrupt
from bot.config import Config
from bot.errors import StackError
from bot.speech import registry as sm


def _engine_site(config: Config) -> Path:
    found = sorted(config.engine_venv.glob("lib/python3*/site-packages"))
    if not found:
        raise StackError(f"Rasa engine environment missing at {config.engine_venv}: run `make setup`")
    return found[0]


def _dist_version(name: str, site: Path | None = None) -> str:
    paths = [str(site)] if site else None
    for dist in importlib.metadata.distributions(path=paths) if paths else importlib.metadata.distributions():
        if dist.metadata["Name"] and dist.metadata["Name"].lower().replace("_", "-") == name:
            return str(dist.version)
    return "missing"


def engine_versions(config: Config) -> dict[str, str]:
    """Versions on this box: Rasa and spaCy (engine environment), rasa-sdk (this environment)."""
    site = _engine_site(config)
    return {
        "rasa": _dist_version("rasa", site),
        "spacy": _dist_version("spacy", site),
        "rasa_sdk": _dist_version("rasa-sdk"),
    }


def model_rasa_version(model: Path, label: str) -> str:
    """The Rasa version a model archive was trained with (its ``metadata.json``)."""
    raw = read_member(model, "metadata.json")
    try:
        version = json.loads(raw or b"{}").get("rasa_open_source_version")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        version = None
    if not isinstance(version, str):
        raise corrupt(label, "模型缺少版本信息", "model has no readable metadata.json")
    return version


def tree_sha256(root: Path) -> str:
    """One SHA-256 over every file of a folder (relative path + content hash, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != sm.MANIFEST):
        digest.update(f"{sm.file_sha256(path)}  {path.relative_to(root).as_posix()}\n".encode())
    return digest.hexdigest()


def stt_reference(model: str | None, models_dir: Path) -> dict[str, Any]:
    """Name, registry data and files' SHA-256 of the speech model this box uses (not the model)."""
    try:
        resolved = sm.resolve(model, models_dir)
    except sm.ModelError:
        name = model or sm.CHINESE_PREFERENCE[0]
        spec = sm.REGISTRY.get(name)
        return {"name": name, "provisioned": False, "archive_sha256": spec.sha256 if spec else None}
    spec = sm.REGISTRY.get(resolved.name)
    return {
        "name": resolved.name,
        "language": resolved.language,
        "provisioned": True,
        "archive_sha256": spec.sha256 if spec else None,
        "files_sha256": tree_sha256(resolved.path),
    }


def stt_notice(bundled: dict[str, Any], local: dict[str, Any]) -> str | None:
    """A warning when this box's speech model is not the one the bundle was built with (not an error)."""
    name = bundled.get("name")
    if not local.get("provisioned"):
        return f"语音模型 {local.get('name')} 未安装 / speech model {local.get('name')} not provisioned here"
    if local.get("name") != name:
        return f"语音模型不同 / bundle built with speech model {name}, this box uses {local.get('name')}"
    if bundled.get("files_sha256") and bundled.get("files_sha256") != local.get("files_sha256"):
        return f"语音模型文件不同 / speech model {name} differs from the one the bundle was built with"
    return None
