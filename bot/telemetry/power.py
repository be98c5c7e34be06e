"""The ``power_w`` vendor format: instantaneous power samples in watts, integrated to kWh.

Payload (JSON): ``{"series": [{"dev": 3, "points": [[1740758400, 1180.5], ...]}]}`` where each
point is ``[epoch seconds, watts]``. Power is taken to change linearly between consecutive
samples (trapezoidal rule). The covered time is cut at clock-hour boundaries, so a batch of full
hours gives one reading per hour; a batch that starts or stops mid-hour gives a partial-hour
reading starting at its first sample. A stretch between two samples longer than ``max_gap_seconds``
is not integrated (the later sample is reported as rejected), because the power in between is
unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from bot.telemetry import records as rec
from bot.telemetry.records import ParseResult, ReadingIn, RecordError, Rejected

_HOUR = 3600
_JOULES_PER_KWH = Decimal(3_600_000)


@dataclass(frozen=True)
class _Sample:
    device_id: int
    t: int
    """Epoch seconds."""
    watts: Decimal


@dataclass
class _Piece:
    start: int
    end: int
    joules: Decimal
    index: int


class PowerSamples:
    """Power samples in W with epoch timestamps, integrated over time."""

    name = "power_w"
    summary = 'JSON {"series": [{"dev", "points": [[epoch_s, watts], ...]}]}, power samples'

    def __init__(self, max_gap_seconds: int = 900) -> None:
        self.max_gap_seconds = max_gap_seconds
        """Longest stretch between two samples that is still integrated."""

    def parse(self, payload: str, *, now: datetime, tz: ZoneInfo) -> ParseResult:
        """Integrate the power samples of every series into hourly readings."""
        del tz  # epoch timestamps carry no local time
        series = rec.load_json_list(payload, "series", '{"series": [{"dev": 1, "points": [...]}]}')
        samples, wheres, rejected = self._samples(series, now)
        kept, conflicts, repeats = rec.drop_duplicates(
            samples, lambda s: (s.device_id, s.t), wheres.__getitem__
        )
        readings, gaps = self._integrate(kept, wheres)
        bad = sorted(rejected + conflicts + gaps, key=lambda r: r.index)
        return ParseResult(tuple(readings), tuple(bad), repeats)

    def _samples(
        self, series: list[object], now: datetime
    ) -> tuple[list[tuple[int, _Sample]], dict[int, str], list[Rejected]]:
        samples: list[tuple[int, _Sample]] = []
        wheres: dict[int, str] = {}
        rejected: list[Rejected] = []
        index = 0
        for s_no, block in enumerate(series):
            points = block.get("points") if isinstance(block, dict) else None
            try:
                if not isinstance(block, dict) or not isinstance(points, list):
                    raise RecordError('series entry must be an object with a "points" list')
                dev = rec.device_id(block.get("dev"), "dev")
            except RecordError as err:
                count = len(points) if isinstance(points, list) else 0
                rejected.append(Rejected(index, f"series[{s_no}]", f"{err}; {count} points skipped"))
                index += count
                continue
            for p_no, point in enumerate(points):
                wheres[index] = f"series[{s_no}].points[{p_no}]"
                try:
                    samples.append((index, _sample(dev, point, now)))
                except RecordError as err:
                    rejected.append(Rejected(index, wheres[index], str(err)))
                index += 1
        return samples, wheres, rejected

    def _integrate(
        self, kept: list[tuple[int, _Sample]], wheres: dict[int, str]
    ) -> tuple[list[ReadingIn], list[Rejected]]:
        by_device: dict[int, list[tuple[int, _Sample]]] = {}
        for index, sample in kept:
            by_device.setdefault(sample.device_id, []).append((index, sample))
        readings: list[ReadingIn] = []
        rejected: list[Rejected] = []
        for dev, series in by_device.items():
            series.sort(key=lambda pair: pair[1].t)
            pieces: list[_Piece] = []
            for (_, a), (ib, b) in pairwise(series):
                if b.t - a.t > self.max_gap_seconds:
                    reason = f"gap of {b.t - a.t} s before this sample exceeds {self.max_gap_seconds} s"
                    rejected.append(Rejected(ib, wheres[ib], reason + "; that stretch is not counted"))
                    continue
                _add_segment(pieces, a, b, ib)
            readings += [_reading(dev, piece, wheres[piece.index]) for piece in pieces]
        return readings, rejected


def _sample(dev: int, point: object, now: datetime) -> _Sample:
    if not isinstance(point, list) or len(point) != 2:
        raise RecordError("point must be [epoch_seconds, watts]")
    t = rec.epoch_time(point[0], "timestamp")
    rec.not_future(t, now, "timestamp")
    return _Sample(dev, point[0], rec.number(point[1], "watts"))


def _watts_at(a: _Sample, b: _Sample, t: int) -> Decimal:
    return a.watts + (b.watts - a.watts) * (t - a.t) / (b.t - a.t)


def _add_segment(pieces: list[_Piece], a: _Sample, b: _Sample, index: int) -> None:
    """Integrate ``a``→``b`` into ``pieces``, cutting at clock-hour boundaries."""
    first_cut = (a.t // _HOUR + 1) * _HOUR
    cuts = [a.t, *range(first_cut, b.t, _HOUR), b.t]
    for x, y in pairwise(cuts):
        joules = (y - x) * (_watts_at(a, b, x) + _watts_at(a, b, y)) / 2
        last = pieces[-1] if pieces else None
        if last is not None and last.end == x and x // _HOUR == last.start // _HOUR:
            last.end, last.joules = y, last.joules + joules
        else:
            pieces.append(_Piece(x, y, joules, index))


def _reading(dev: int, piece: _Piece, where: str) -> ReadingIn:
    start = datetime.fromtimestamp(piece.start, UTC)
    kwh = rec.kwh(piece.joules / _JOULES_PER_KWH)
    return ReadingIn(dev, start, piece.end - piece.start, kwh, piece.index, where)
