"""Progress where people wait: a bar with stage and elapsed time on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from bot.rasa.progress import TrainProgress

BAR_WIDTH = 28
PLAIN_STEP = 0.1
"""Without a terminal, a line per stage and per tenth of the run (logs stay short)."""


def elapsed(seconds: float) -> str:
    """``83.2`` → ``1:23``."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class ProgressView:
    """Draws :class:`TrainProgress` events on ``stream``: redrawn in place on a terminal."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, clock: float | None = None):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._started = time.monotonic() if clock is None else clock
        self._last_stage = ""
        self._last_step = -1

    def __call__(self, event: TrainProgress, now: float | None = None) -> None:
        """Show one event."""
        spent = elapsed((time.monotonic() if now is None else now) - self._started)
        percent = int(event.fraction * 100)
        if self._tty:
            filled = int(event.fraction * BAR_WIDTH)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            detail = f"  {event.detail}" if event.detail else ""
            self._stream.write(f"\r\033[K{event.stage.value:<8} {bar} {percent:3d}%  {spent}{detail}")
            if event.fraction >= 1.0:
                self._stream.write("\n")
        else:
            step = int(event.fraction / PLAIN_STEP)
            if event.stage.value == self._last_stage and step == self._last_step:
                return
            self._last_stage, self._last_step = event.stage.value, step
            detail = f" ({event.detail})" if event.detail else ""
            self._stream.write(f"[{spent}] {event.stage.value} {percent}%{detail}\n")
        self._stream.flush()
