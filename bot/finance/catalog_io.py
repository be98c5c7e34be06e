"""Catalog import (all or nothing) and listing, in the import shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, select

from bot.errors import NotFoundError
from bot.finance.catalog_parse import Catalog, read_catalog_file
from bot.finance.catalog_rows import ROW_MODELS
from bot.progress import Counter, Report, quiet
from bot.store.catalog import split_list
from bot.store.models import Tenant

STAGE = "导入目录"
"""The progress stage of a catalog import."""
_LIST_COLUMNS = frozenset({"eligible_categories", "eligible_brands", "categories"})


@dataclass
class ImportReport:
    """How many rows of each section were created or updated."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per section, e.g. ``products: 3 created, 1 updated``."""
        kinds = [k for k in ROW_MODELS if k in self.created or k in self.updated]
        return "\n".join(
            f"{k}: {self.created.get(k, 0)} created, {self.updated.get(k, 0)} updated" for k in kinds
        )


def _upsert(session: Session, row: SQLModel, key_field: str) -> bool:
    """Insert ``row`` or copy it onto the stored row with the same key; True if created."""
    table = type(row)
    identity = {"tenant_id": getattr(row, "tenant_id"), key_field: getattr(row, key_field)}  # noqa: B009
    existing = session.get(table, identity)
    if existing is None:
        session.add(row)
        return True
    for name in table.model_fields:
        setattr(existing, name, getattr(row, name))
    return False


def import_catalog(
    session: Session, tenant_id: str, catalog: Catalog, report: Report = quiet
) -> ImportReport:
    """Upsert validated rows for a tenant in the caller's transaction (the caller commits);
    ``report`` hears the rows done."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFoundError(f"unknown tenant {tenant_id!r}", code="unknown_tenant")
    result = ImportReport()
    rows = Counter(report, STAGE, sum(len(catalog.get(kind, [])) for kind in ROW_MODELS))
    rows.start()
    for kind, model in ROW_MODELS.items():
        for row in catalog.get(kind, []):
            created = _upsert(session, row.to_table(tenant_id), model.KEY)
            counts = result.created if created else result.updated
            counts[kind] = counts.get(kind, 0) + 1
            rows.step()
    session.flush()
    return result


def import_catalog_file(
    session: Session, tenant_id: str, path: Path, kind: str | None = None
) -> ImportReport:
    """Validate a whole file, then import it; a single bad row rejects the file."""
    return import_catalog(session, tenant_id, read_catalog_file(path, kind))


def _plain(name: str, value: Any) -> Any:
    if name in _LIST_COLUMNS:
        return list(split_list(value))
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_dict(row: SQLModel) -> dict[str, Any]:
    """A catalog row as JSON-ready data (decimals as strings, lists as lists, no tenant)."""
    return {k: _plain(k, v) for k, v in row.model_dump().items() if k != "tenant_id"}


def list_catalog(session: Session, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """The tenant's catalog in the import shape ``{"products": [...], "finance_plans": ...}``."""
    result: dict[str, list[dict[str, Any]]] = {}
    for kind, model in ROW_MODELS.items():
        table = model.TABLE
        key = getattr(table, model.KEY)
        rows = session.exec(select(table).where(table.tenant_id == tenant_id).order_by(key))  # type: ignore[attr-defined]
        result[kind] = [row_dict(row) for row in rows]
    return result
