"""Which bundle is active under ``var/bundles/``: read by ``bot up``, ``/healthz`` and ``bot bundle status``.

Layout: ``var/bundles/<version>/`` (an unpacked bundle), ``active`` and ``previous`` (relative
symlinks to a version folder, each replaced atomically). Nothing here writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bundle.manifest import MANIFEST

ACTIVE = "active"
PREVIOUS = "previous"


@dataclass(frozen=True)
class InstalledBundle:
    """An unpacked bundle folder and the manifest fields the stack needs."""

    version: str
    tenant: str
    created_at: str
    root: Path
    """Resolved folder: Rasa runs here so ``models/spacy-zh`` is the bundle's pipeline."""
    model: Path
    """The bundle's Rasa model."""


def bundles_dir(var_dir: Path) -> Path:
    """Where bundles are installed."""
    return var_dir / "bundles"


def read_installed(root: Path) -> InstalledBundle | None:
    """The bundle unpacked at ``root``, or None when it has no readable manifest."""
    try:
        data: dict[str, Any] = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return InstalledBundle(
            str(data["version"]),
            str(data["tenant"]),
            str(data["created_at"]),
            root,
            root / str(data["model"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def linked(var_dir: Path, name: str) -> InstalledBundle | None:
    """The bundle the ``active`` or ``previous`` link points to, or None."""
    link = bundles_dir(var_dir) / name
    if not link.is_symlink():
        return None
    return read_installed(link.resolve())


def active_bundle(var_dir: Path) -> InstalledBundle | None:
    """The active bundle, or None when the skill runs from ``models/``."""
    return linked(var_dir, ACTIVE)


def serving_root(project_dir: Path, var_dir: Path) -> Path:
    """Working folder of the Rasa server: the active bundle, else the project."""
    bundle = active_bundle(var_dir)
    return bundle.root if bundle else project_dir


def bundle_health(var_dir: Path, loaded_model: str | None) -> dict[str, Any] | None:
    """``/healthz``'s ``bundle``: version and tenant, and whether Rasa still runs another model."""
    bundle = active_bundle(var_dir)
    if bundle is None:
        return None
    info: dict[str, Any] = {"version": bundle.version, "tenant": bundle.tenant}
    if loaded_model is not None:
        info["restart_required"] = loaded_model != bundle.model.name
    return info


def serving_command(model: Path, project_dir: Path, argv: list[str]) -> list[str]:
    """Rasa's command: run from the bundle folder of ``model`` (if any).

    The model's ``config.yml`` names ``models/spacy-zh`` relative to the working folder, so Rasa
    started there loads the bundle's spaCy pipeline. ``argv`` must keep that folder off ``sys.path``
    (``bot.rasa.serve.isolated_command``): a bundle is data and never importable.
    """
    root = model.parent.parent
    if root.resolve() == project_dir.resolve() or read_installed(root) is None:
        return argv
    return ["env", "-C", str(root), *argv]
