"""Vendor telemetry formats: one adapter per format, selected by name from ``ADAPTERS``.

Every adapter turns the text of one vendor payload into normalised ``ReadingIn`` intervals plus
``Rejected`` records with reasons. A payload that cannot be read at all (not JSON, wrong shape,
missing CSV columns) raises ``TelemetryFormatError``. Adapters are pure: they do not know which
devices exist (the ingest step checks that) and take ``now`` and the local timezone as arguments.

- ``meter_kwh`` (JSON): cumulative meter totals
  ``{"records": [{"device_id", "time", "total_kwh"}]}``; consecutive totals of a device become
  intervals; a total that goes down (meter reset or rollback) rejects that interval. The first
  total of a device is only a baseline, so vendors should repeat the last total of the previous
  batch.
- ``interval_wh`` (CSV): ``device_id,interval_start,minutes,energy_wh`` per interval, local time.
- ``power_w`` (JSON): power samples in watts, see ``bot.telemetry.power``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.telemetry import records as rec
from bot.telemetry.power import PowerSamples
from bot.telemetry.records import ParseResult, ReadingIn, RecordError, Rejected, TelemetryFormatError


class Adapter(Protocol):
    """Reads one vendor payload format."""

    name: str
    summary: str

    def parse(self, payload: str, *, now: datetime, tz: ZoneInfo) -> ParseResult:
        """Normalise ``payload``; raise TelemetryFormatError when the payload is unusable."""
        ...


@dataclass(frozen=True)
class _Total:
    device_id: int
    time: datetime
    total: Decimal


class MeterTotals:
    """Cumulative meter readings in kWh: differences of consecutive totals per device."""

    name = "meter_kwh"
    summary = 'JSON {"records": [{"device_id", "time", "total_kwh"}]}, cumulative kWh'

    def parse(self, payload: str, *, now: datetime, tz: ZoneInfo) -> ParseResult:
        """Normalise a batch of meter totals into intervals."""
        items = rec.load_json_list(payload, "records", '{"records": [{"device_id": 1, ...}]}')
        totals: list[tuple[int, _Total]] = []
        rejected: list[Rejected] = []
        for index, item in enumerate(items):
            try:
                totals.append((index, self._total(item, now, tz)))
            except RecordError as err:
                rejected.append(Rejected(index, _where(index), str(err)))
        kept, conflicts, repeats = rec.drop_duplicates(totals, lambda t: (t.device_id, t.time), _where)
        readings, bad = self._intervals(kept)
        return ParseResult(tuple(readings), tuple(sorted(rejected + conflicts + bad, key=_by_index)), repeats)

    @staticmethod
    def _total(item: object, now: datetime, tz: ZoneInfo) -> _Total:
        if not isinstance(item, dict):
            raise RecordError("record is not a JSON object")
        time = rec.iso_time(item.get("time"), "time", tz).replace(microsecond=0)
        rec.not_future(time, now, "time")
        return _Total(
            rec.device_id(item.get("device_id")),
            time,
            rec.number(item.get("total_kwh"), "total_kwh"),
        )

    @staticmethod
    def _intervals(kept: list[tuple[int, _Total]]) -> tuple[list[ReadingIn], list[Rejected]]:
        readings: list[ReadingIn] = []
        rejected: list[Rejected] = []
        by_device: dict[int, list[tuple[int, _Total]]] = {}
        for index, total in kept:
            by_device.setdefault(total.device_id, []).append((index, total))
        for series in by_device.values():
            series.sort(key=lambda pair: pair[1].time)
            for (_, prev), (index, cur) in pairwise(series):
                seconds = int((cur.time - prev.time).total_seconds())
                if cur.total < prev.total:
                    reason = f"meter total fell from {prev.total} to {cur.total} (reset or rollback)"
                    rejected.append(Rejected(index, _where(index), reason + "; interval not counted"))
                elif seconds > rec.MAX_INTERVAL_SECONDS:
                    reason = f"{seconds} s since the previous total exceeds 24 h; interval not counted"
                    rejected.append(Rejected(index, _where(index), reason))
                else:
                    kwh = rec.kwh(cur.total - prev.total)
                    readings.append(ReadingIn(cur.device_id, prev.time, seconds, kwh, index, _where(index)))
        return readings, rejected


def _where(index: int) -> str:
    return f"records[{index}]"


def _by_index(item: Rejected) -> int:
    return item.index


_CSV_COLUMNS = ("device_id", "interval_start", "minutes", "energy_wh")


class IntervalCsv:
    """Per-interval energy in Wh, one CSV row per device and interval."""

    name = "interval_wh"
    summary = "CSV device_id,interval_start,minutes,energy_wh (Wh per interval, local time)"

    def parse(self, payload: str, *, now: datetime, tz: ZoneInfo) -> ParseResult:
        """Normalise CSV rows of interval energy."""
        reader = csv.DictReader(io.StringIO(payload.lstrip("\ufeff")))
        header = [name.strip() for name in reader.fieldnames or ()]
        missing = [c for c in _CSV_COLUMNS if c not in header]
        if missing:
            raise TelemetryFormatError(
                f"CSV header needs columns {','.join(_CSV_COLUMNS)}; missing: {','.join(missing)} "
                f"(header read: {','.join(header) or 'none'})"
            )
        reader.fieldnames = header
        rows: list[tuple[int, ReadingIn]] = []
        rejected: list[Rejected] = []
        lines: dict[int, str] = {}
        for index, row in enumerate(reader):
            lines[index] = f"line {reader.line_num}"
            try:
                rows.append((index, self._row(row, index, lines[index], now, tz)))
            except RecordError as err:
                rejected.append(Rejected(index, lines[index], str(err)))
        kept, conflicts, repeats = rec.drop_duplicates(
            rows, lambda r: (r.device_id, r.start), lambda i: lines[i]
        )
        readings = tuple(r for _, r in kept)
        return ParseResult(readings, tuple(sorted(rejected + conflicts, key=_by_index)), repeats)

    @staticmethod
    def _row(row: Mapping[str | None, Any], index: int, where: str, now: datetime, tz: ZoneInfo) -> ReadingIn:
        if None in row or any(row.get(c) is None for c in _CSV_COLUMNS):
            raise RecordError(f"row does not have exactly {len(_CSV_COLUMNS)} fields")
        start = rec.iso_time(row["interval_start"], "interval_start", tz).replace(microsecond=0)
        minutes = rec.number(row["minutes"], "minutes")
        if minutes != minutes.to_integral_value() or not 1 <= minutes <= 1440:
            raise RecordError(f"minutes must be a whole number from 1 to 1440: {row['minutes']}")
        seconds = int(minutes) * 60
        rec.not_future(start + timedelta(seconds=seconds), now, "interval end")
        wh = rec.number(row["energy_wh"], "energy_wh")
        dev = rec.device_id(row["device_id"])
        return ReadingIn(dev, start, seconds, rec.kwh(wh / 1000), index, where)


ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (MeterTotals(), IntervalCsv(), PowerSamples())
}
"""Every supported vendor format by name (the ``--format`` of ``bot telemetry import``)."""


def adapter(name: str) -> Adapter:
    """The adapter for format ``name``, or TelemetryFormatError listing the known ones."""
    found = ADAPTERS.get(name)
    if found is None:
        raise TelemetryFormatError(f"unknown format {name!r}; known: {', '.join(sorted(ADAPTERS))}")
    return found
