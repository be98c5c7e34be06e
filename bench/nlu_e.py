"""``python -m bench nlu_e``: the boundary on negative batch E alone (tests/nlu_negatives_e.yml, the
batch no change was tuned on): misfire rate, handled:false rate and reason agreement, without the
held-out set or the other batches. ``python -m bench nlu`` reports the same figures among all others."""

from __future__ import annotations

from typing import Any

from bench.nlu import boundary
from bot.testing.harness import RunningStack


def run(stack: RunningStack) -> dict[str, Any]:
    """Score batch E alone."""
    return boundary(stack, only="e")
