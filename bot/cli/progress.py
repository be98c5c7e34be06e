"""Progress where people wait: a bar with stage and elapsed time on a terminal, plain lines otherwise.

``bot train``, ``bot models download``, ``bot catalog import``, ``bot telemetry import``, ``bot seed`` and
``bot points accrue`` draw their :class:`~bot.progress.Progress` here, on standard error (standard
output keeps the command's result).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from bot.progress import Progress

BAR_WIDTH = 28
PLAIN_STEP = 0.1
"""Without a terminal, a line per stage and per tenth of the run (logs stay short)."""


def elapsed(seconds: float) -> str:
    """``83.2`` → ``1:23``."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class ProgressView:
    """Draws :class:`Progress` events on ``stream``: redrawn in place on a terminal."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, clock: float | None = None):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._started = time.monotonic() if clock is None else clock
        self._last_stage = ""
        self._last_step = -1
        self._open = False
        """A bar is drawn and its line not ended yet."""

    def __call__(self, event: Progress, now: float | None = None) -> None:
        """Show one event."""
        spent = elapsed((time.monotonic() if now is None else now) - self._started)
        percent = int(event.fraction * 100)
        if self._tty:
            filled = int(event.fraction * BAR_WIDTH)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            detail = f"  {event.detail}" if event.detail else ""
            self._stream.write(f"\r\033[K{event.stage!s:<8} {bar} {percent:3d}%  {spent}{detail}")
            self._open = event.fraction < 1.0
            if not self._open:
                self._stream.write("\n")
        else:
            step = int(event.fraction / PLAIN_STEP)
            if str(event.stage) == self._last_stage and step == self._last_step:
                return
            self._last_stage, self._last_step = str(event.stage), step
            detail = f" ({event.detail})" if event.detail else ""
            self._stream.write(f"[{spent}] {event.stage!s} {percent}%{detail}\n")
        self._stream.flush()

    def close(self) -> None:
        """End a bar left open (a job that stopped early or failed), so the next output starts clean."""
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False


@contextlib.contextmanager
def progress_view(stream: TextIO | None = None) -> Iterator[ProgressView]:
    """A view for one command's job, its bar's line ended however the job ends."""
    view = ProgressView(stream)
    try:
        yield view
    finally:
        view.close()
