"""``python -m bench`` (``make bench``): run every benchmark against one real stack, record figures.

Each module in ``BENCHMARKS`` has ``run(stack) -> dict`` returning flat keys for results.json.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.harness import make_stack

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

BENCHMARKS: tuple[str, ...] = ("bench.turns", "bench.nlu", "bench.speech")
"""Benchmark modules, run in this order; add one line per benchmark."""


def main(argv: list[str]) -> int:
    """Start a stack, run the benchmarks named in argv (default all), write results."""
    names = [n if n.startswith("bench.") else f"bench.{n}" for n in argv] or list(BENCHMARKS)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        stack = make_stack(Path(tmp))
        stack.env.setdefault("BOT_RASA_TOKEN", secrets.token_urlsafe(24))  # lets benchmarks time Rasa itself
        stack.start()
        try:
            for name in names:
                print(f"running {name} …", flush=True)
                figures.update(importlib.import_module(name).run(stack))
        finally:
            stack.stop()
    record(figures)
    return 0


def record(figures: dict[str, Any], note: str = "") -> None:
    """Merge figures into results.json and append a dated section to RESULTS.md."""
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results.update(figures)
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {stamp}\n",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    ]
    if note:
        lines.append(f"- note: {note}")
    lines += [f"- `{key}`: {value}" for key, value in sorted(figures.items())]
    with RESULTS_MD.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
