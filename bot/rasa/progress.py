"""Where ``rasa train`` is, read from its output: stage (spaCy, NLU, policies, packaging) and a fraction.

Rasa logs ``Starting to train component 'X'.`` for each graph node and draws a tqdm bar
(``Epochs:  45%|…| 45/100``) while DIET trains; this module turns those lines into
:class:`TrainProgress` events. Rendering them is the CLI's job (``bot.cli.progress``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.progress import Progress


class Stage(StrEnum):
    """The stages of a training run, in order."""

    SPACY = "spaCy 管线"
    NLU = "NLU 训练"
    POLICIES = "对话策略"
    PACKAGING = "打包模型"
    DONE = "完成"


SPAN = {
    Stage.SPACY: (0.0, 0.08),
    Stage.NLU: (0.08, 0.80),
    Stage.POLICIES: (0.80, 0.95),
    Stage.PACKAGING: (0.95, 1.0),
    Stage.DONE: (1.0, 1.0),
}
"""Share of the whole run each stage takes (measured: DIET's epochs dominate)."""

_COMPONENT = re.compile(r"Starting to train component '([A-Za-z0-9_]+)'")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_SAVED = "Your Rasa model is trained and saved"


TrainProgress = Progress
"""One step of a training run (its ``stage`` is a :class:`Stage`)."""


def at(stage: Stage, within: float = 0.0, detail: str = "") -> TrainProgress:
    """Progress ``within`` (0–1) the given stage."""
    low, high = SPAN[stage]
    return TrainProgress(stage, low + (high - low) * min(max(within, 0.0), 1.0), detail)


class OutputReader:
    """Feed it ``rasa train`` output as it arrives; it returns the progress each chunk shows."""

    def __init__(self) -> None:
        self._partial = ""
        self._stage = Stage.NLU
        self._last: TrainProgress | None = None

    def feed(self, chunk: str) -> list[TrainProgress]:
        """Progress events in the complete lines of ``chunk`` (tqdm's ``\\r`` ends a line too)."""
        text = self._partial + chunk
        parts = re.split(r"[\r\n]", text)
        self._partial = parts.pop()
        out = []
        for line in parts:
            event = self._line(line)
            if event is not None and self._last is not None and event.fraction < self._last.fraction:
                event = TrainProgress(event.stage, self._last.fraction, event.detail)
            if event is not None and event != self._last:
                self._last = event
                out.append(event)
        return out

    def _line(self, line: str) -> TrainProgress | None:
        component = _COMPONENT.search(line)
        if component:
            name = component.group(1)
            self._stage = Stage.POLICIES if name.endswith("Policy") else Stage.NLU
            return at(self._stage, self._within(), name)
        epochs = _EPOCHS.search(line)
        if epochs and self._stage is Stage.NLU:
            done, total = int(epochs.group(1)), int(epochs.group(2))
            return at(Stage.NLU, done / total if total else 0.0, f"DIET {done}/{total} 轮")
        if _SAVED in line:
            return at(Stage.DONE)
        return None

    def _within(self) -> float:
        """Where a new component starts within its stage: policies step on, NLU components keep
        the place (DIET's epochs move the bar); a run never goes backwards (see ``feed``)."""
        if self._last is None or self._last.stage is not self._stage:
            return 0.0
        low, high = SPAN[self._stage]
        done = (self._last.fraction - low) / (high - low) if high > low else 1.0
        return min(1.0, done + (0.2 if self._stage is Stage.POLICIES else 0.0))
