"""Normalised readings, rejections and the value checks every vendor adapter shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.errors import InputError

KWH_STEP = Decimal("0.001")
"""Resolution of ``EnergyReading.kwh``."""
MAX_INTERVAL_SECONDS = 86_400
"""Longest interval one reading may cover (a day), so costs can be split by day."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a device clock may run before its record is refused."""


class TelemetryFormatError(InputError):
    """The file as a whole cannot be read in the chosen format."""

    code = "bad_telemetry_file"


class RecordError(ValueError):
    """One record is unusable; the message is the reason shown to the operator."""


@dataclass(frozen=True)
class ReadingIn:
    """One normalised interval of one device, ready to store as an ``EnergyReading``."""

    device_id: int
    start: datetime
    """Aware UTC start of the interval."""
    seconds: int
    kwh: Decimal
    """Energy in the interval, quantised to 0.001 kWh."""
    index: int
    """Position of the source record it came from (for messages)."""
    where: str = ""
    """Where that record is in the file, e.g. ``line 7``."""

    @property
    def end(self) -> datetime:
        """Exclusive end of the interval."""
        return self.start + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Rejected:
    """A record (or interval) that was not stored, and why."""

    index: int
    """0-based position of the record in the vendor's record sequence."""
    where: str
    """Where to find it in the file, e.g. ``line 7`` or ``records[3]``."""
    reason: str


@dataclass(frozen=True)
class ParseResult:
    """What an adapter made of one payload."""

    readings: tuple[ReadingIn, ...]
    rejected: tuple[Rejected, ...]
    duplicates: int = 0
    """Identical records repeated inside the payload, counted once."""


def load_json_list(payload: str, key: str, example: str) -> list[Any]:
    """The list under ``key`` of a JSON object, or TelemetryFormatError explaining the shape."""
    try:
        doc = json.loads(payload, parse_float=Decimal)
    except json.JSONDecodeError as err:
        raise TelemetryFormatError(f"not valid JSON: {err}") from err
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise TelemetryFormatError(f"expected a JSON object with a {key!r} list, e.g. {example}")
    items: list[Any] = doc[key]
    return items


def number(raw: object, field: str) -> Decimal:
    """A finite, non-negative Decimal from a JSON/CSV value, else RecordError."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        raise RecordError(f"{field} is not a number: {raw!r}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise RecordError(f"{field} is not a number: {raw!r}") from None
    if not value.is_finite():
        raise RecordError(f"{field} is not a finite number: {raw!r}")
    if value < 0:
        raise RecordError(f"{field} is negative: {raw}")
    return value


def device_id(raw: object, field: str = "device_id") -> int:
    """A positive integer device id, else RecordError."""
    if isinstance(raw, bool):
        raise RecordError(f"{field} is not an integer: {raw!r}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
    else:
        raise RecordError(f"{field} is not an integer: {raw!r}")
    if value <= 0:
        raise RecordError(f"{field} must be positive: {raw!r}")
    return value


def iso_time(raw: object, field: str, tz: ZoneInfo) -> datetime:
    """An aware UTC datetime from ISO 8601 text; naive text is local time in ``tz``."""
    if not isinstance(raw, str):
        raise RecordError(f"{field} is not a timestamp: {raw!r}")
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise RecordError(f"{field} is not an ISO 8601 timestamp: {raw!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def epoch_time(raw: object, field: str) -> datetime:
    """An aware UTC datetime from whole epoch seconds."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise RecordError(f"{field} is not whole epoch seconds: {raw!r}")
    try:
        return datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"{field} is out of range: {raw!r}") from None


def not_future(end: datetime, now: datetime, field: str) -> None:
    """Refuse an interval or sample that ends after ``now`` (plus clock skew)."""
    if end > now + CLOCK_SKEW:
        raise RecordError(f"{field} is in the future: {end.isoformat()}")


def kwh(value: Decimal) -> Decimal:
    """Quantise energy to the stored resolution."""
    return value.quantize(KWH_STEP, rounding=ROUND_HALF_UP)


T = TypeVar("T")


def drop_duplicates(
    items: Iterable[tuple[int, T]],
    key: Callable[[T], Hashable],
    where: Callable[[int], str],
) -> tuple[list[tuple[int, T]], list[Rejected], int]:
    """Keep one of identical repeats; reject every record of a key whose values conflict."""
    groups: dict[Hashable, list[tuple[int, T]]] = {}
    for index, item in items:
        groups.setdefault(key(item), []).append((index, item))
    kept: list[tuple[int, T]] = []
    rejected: list[Rejected] = []
    repeats = 0
    for group in groups.values():
        if all(item == group[0][1] for _, item in group):
            kept.append(group[0])
            repeats += len(group) - 1
            continue
        others = ", ".join(where(i) for i, _ in group)
        rejected += [
            Rejected(i, where(i), f"conflicting duplicates in this file: {others}") for i, _ in group
        ]
    kept.sort(key=lambda pair: pair[0])
    return kept, rejected, repeats
