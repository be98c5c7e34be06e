"""A designer's working copy: ``domain.yml`` and ``data/`` copied per tenant under the var folder.

Edits from the studio land here, never in the project files a running model was trained from; they
reach production only through the normal path (commit, train, bundle).
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.errors import InputError

_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
FILES = ("domain.yml", "data")
"""What a working copy holds (the inputs of training that designers edit)."""


@dataclass(frozen=True)
class Workspace:
    """The project files and one tenant's working copy of them."""

    project: Path
    root: Path
    """``<var>/studio/<tenant>``: the working copy."""

    def path(self, relative: str) -> Path:
        """The working copy's file when it exists, else the project's."""
        own = self.root / relative
        return own if own.exists() else self.project / relative

    def read(self, relative: str) -> str:
        """Current text of a file (working copy first)."""
        return self.path(relative).read_text(encoding="utf-8")

    def write(self, relative: str, text: str) -> None:
        """Write a file into the working copy (copying the rest of it on first use)."""
        self.ensure()
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def ensure(self) -> None:
        """Create the working copy from the project files when there is none yet."""
        if (self.root / "domain.yml").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.project / "domain.yml", self.root / "domain.yml")
        shutil.copytree(self.project / "data", self.root / "data", dirs_exist_ok=True)

    def diff(self) -> str:
        """Unified diff of every working-copy file against the project."""
        out: list[str] = []
        if not self.root.exists():
            return ""
        for own in sorted(p for p in self.root.rglob("*.yml") if p.is_file()):
            rel = own.relative_to(self.root).as_posix()
            base = self.project / rel
            old = base.read_text(encoding="utf-8").splitlines(keepends=True) if base.exists() else []
            new = own.read_text(encoding="utf-8").splitlines(keepends=True)
            out.extend(difflib.unified_diff(old, new, f"a/{rel}", f"b/{rel}"))
        return "".join(out)

    def changed(self) -> bool:
        """Whether the working copy differs from the project."""
        return bool(self.diff())


def workspace(project: Path, var_dir: Path, tenant_id: str) -> Workspace:
    """The working copy of a tenant's designers."""
    if not _TENANT.match(tenant_id):
        raise InputError("租户编号不合法", code="bad_tenant")
    return Workspace(project, var_dir / "studio" / tenant_id)
