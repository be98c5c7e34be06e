"""Progress of a long job as data (a stage, a fraction of the whole run, a detail); the CLI draws it.

Training, model downloads, catalog and telemetry imports, the demo seed and the points accrual take a
``report`` callable and call it as they go; they never draw anything themselves (``bot.cli.progress``
draws a bar on a terminal, plain lines otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One step of a long job."""

    stage: str
    """What the job is doing now, as people read it (「下载」, 「NLU 训练」)."""
    fraction: float
    """Of the whole run, 0–1."""
    detail: str = ""


Report = Callable[[Progress], None]
"""Hears each step of a job."""


def quiet(_: Progress) -> None:
    """A report that shows nothing (the default of every job)."""


class Counter:
    """Reports ``done/total`` items of one stage spanning ``low``–``high`` of the run, at most
    ``steps`` times (a job of a million rows must not print a million lines)."""

    def __init__(
        self, report: Report, stage: str, total: int, span: tuple[float, float] = (0.0, 1.0), steps: int = 100
    ):
        self._report, self._stage, self._total = report, stage, max(total, 0)
        self._low, self._high = span
        self._every = max(1, self._total // steps)
        self.done = 0

    def start(self) -> None:
        """Report the stage's start (its end, when there is nothing to do)."""
        self._report(Progress(self._stage, self._low if self._total else self._high, f"0/{self._total}"))

    def step(self, n: int = 1) -> None:
        """``n`` more items done."""
        self.done += n
        if self.done % self._every < n or self.done >= self._total:
            share = min(self.done / self._total, 1.0) if self._total else 1.0
            fraction = self._low + (self._high - self._low) * share
            self._report(Progress(self._stage, fraction, f"{min(self.done, self._total)}/{self._total}"))
