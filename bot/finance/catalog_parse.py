"""Read a catalog file (JSON or CSV) into validated rows, collecting every problem (where, why).

Nothing here touches the database: a file either yields a complete, valid :data:`Catalog` or raises
:class:`CatalogRejected` listing every rejected row (location, field, reason).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.errors import InputError
from bot.finance.catalog_rows import ROW_MODELS, CatalogRow, TradeInRuleRow

Catalog = dict[str, list[CatalogRow]]
"""Section name (``products``, ``finance_plans``…) → validated rows."""

NOTES_KEY = "notes"
"""Top-level JSON key ignored by the import (free-text provenance of the data)."""


@dataclass(frozen=True)
class RowProblem:
    """Why one row (or the file) was rejected."""

    where: str
    """``line 3`` (CSV), ``products row 2`` (JSON) or ``file``."""
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}" if self.field else f"{self.where}: {self.reason}"


class CatalogRejected(InputError):
    """The catalog file has problems; nothing was imported."""

    code = "catalog_rejected"

    def __init__(self, problems: list[RowProblem]):
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s), nothing imported:\n{lines}")
        self.problems = problems


def _validate(kind: str, where: str, data: Any, problems: list[RowProblem]) -> CatalogRow | None:
    if not isinstance(data, Mapping):
        problems.append(RowProblem(where, None, f"expected an object, got {type(data).__name__}"))
        return None
    try:
        return ROW_MODELS[kind].model_validate(dict(data))
    except ValidationError as err:
        for error in err.errors():
            field = ".".join(str(part) for part in error["loc"]) or None
            reason = error["msg"].removeprefix("Value error, ")
            problems.append(RowProblem(where, field, reason))
        return None


def _check_duplicates(kind: str, rows: list[tuple[str, CatalogRow]], out: list[RowProblem]) -> None:
    seen: dict[str, str] = {}
    for where, row in rows:
        key = row.key()
        if key in seen:
            out.append(RowProblem(where, row.KEY, f"duplicate {key!r} (first at {seen[key]})"))
        seen.setdefault(key, where)


def _check_bands(rows: list[tuple[str, CatalogRow]], out: list[RowProblem]) -> None:
    bands: dict[str, list[tuple[int, int, str]]] = {}
    for where, row in rows:
        if isinstance(row, TradeInRuleRow):
            end = row.max_age_years if row.max_age_years is not None else 10**6
            bands.setdefault(row.category, []).append((row.min_age_years, end, where))
    for items in bands.values():
        items.sort()
        for (_, end, first), (start, _, where) in itertools.pairwise(items):
            if start < end:
                out.append(RowProblem(where, "min_age_years", f"age band overlaps {first}"))


def _finish(sections: dict[str, list[tuple[str, CatalogRow]]], problems: list[RowProblem]) -> Catalog:
    for kind, rows in sections.items():
        _check_duplicates(kind, rows, problems)
        if kind == "trade_in_rules":
            _check_bands(rows, problems)
    if not problems and not any(sections.values()):
        problems.append(RowProblem("file", None, "no rows to import"))
    if problems:
        raise CatalogRejected(problems)
    return {kind: [row for _, row in rows] for kind, rows in sections.items() if rows}


def _sections_of(data: Any, kind: str | None, problems: list[RowProblem]) -> dict[str, Any]:
    expected = ", ".join(ROW_MODELS)
    if isinstance(data, list) and kind is not None:
        return {kind: data}
    if not isinstance(data, dict):
        got = type(data).__name__
        problems.append(RowProblem("file", None, f"expected a JSON object with keys {expected}; got {got}"))
        return {}
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key == NOTES_KEY:
            continue
        if key not in ROW_MODELS:
            problems.append(RowProblem("file", key, f"unknown section (expected {expected})"))
        elif not isinstance(value, list):
            problems.append(RowProblem("file", key, f"expected a list of rows, got {type(value).__name__}"))
        else:
            sections[key] = value
    return sections


def parse_json_catalog(text: str, kind: str | None = None) -> Catalog:
    """Validate a JSON catalog ``{"products": [...], ...}`` (or a bare list of ``kind`` rows)."""
    _check_kind(kind)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as err:
        raise CatalogRejected([RowProblem(f"line {err.lineno}", None, f"invalid JSON: {err.msg}")]) from err
    problems: list[RowProblem] = []
    sections: dict[str, list[tuple[str, CatalogRow]]] = {}
    for name, rows in _sections_of(data, kind, problems).items():
        sections[name] = []
        for number, data_row in enumerate(rows, start=1):
            where = f"{name} row {number}"
            row = _validate(name, where, data_row, problems)
            if row is not None:
                sections[name].append((where, row))
    return _finish(sections, problems)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in ROW_MODELS:
        raise InputError(f"unknown kind {kind!r} (use one of {', '.join(ROW_MODELS)})", code="bad_kind")


def _header_problems(kind: str, columns: list[str]) -> list[RowProblem]:
    if not any(columns):
        return [RowProblem("line 1", None, "empty file: expected a header row")]
    fields = ROW_MODELS[kind].model_fields
    problems = [RowProblem("line 1", c, "unknown column") for c in columns if c not in fields]
    problems += [
        RowProblem("line 1", c, "column appears twice") for c in set(columns) if columns.count(c) > 1
    ]
    missing = [name for name, info in fields.items() if info.is_required() and name not in columns]
    problems += [RowProblem("line 1", name, "missing required column") for name in missing]
    return problems


def _csv_rows(
    kind: str,
    reader: Any,
    header: list[str],
    rows: list[tuple[str, CatalogRow]],
    problems: list[RowProblem],
) -> None:
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        where = f"line {reader.line_num}"
        if len(record) != len(header):
            problems.append(RowProblem(where, None, f"{len(record)} cells, the header has {len(header)}"))
            continue
        cells = {name: cell for name, cell in zip(header, record, strict=True) if cell.strip()}
        row = _validate(kind, where, cells, problems)
        if row is not None:
            rows.append((where, row))


def parse_csv_catalog(text: str, kind: str) -> Catalog:
    """Validate CSV rows of one catalog section (header = field names; lists as ``a|b``)."""
    _check_kind(kind)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[RowProblem] = []
    rows: list[tuple[str, CatalogRow]] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        problems += _header_problems(kind, header)
        if not problems:
            _csv_rows(kind, reader, header, rows, problems)
    except csv.Error as err:
        problems.append(RowProblem(f"line {reader.line_num}", None, f"broken CSV: {err}"))
    return _finish({kind: rows}, problems)


def read_catalog_file(path: Path, kind: str | None = None) -> Catalog:
    """Read and validate a ``.json`` or ``.csv`` catalog file (CSV needs ``kind``)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as err:
        raise InputError(f"no such file: {path}", code="file_not_found") from err
    except UnicodeDecodeError as err:
        raise CatalogRejected([RowProblem("file", None, "not UTF-8 text")]) from err
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_json_catalog(text, kind)
    if suffix == ".csv":
        if kind is None:
            raise InputError(f"a CSV file needs --kind ({', '.join(ROW_MODELS)})", code="bad_kind")
        return parse_csv_catalog(text, kind)
    raise InputError(f"unsupported file type {suffix or '(none)'}: use .json or .csv", code="bad_file_type")
