"""Run every benchmark against a real stack and record the figures."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.harness import RunningStack, make_stack, rss_mb

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

QUESTIONS = (
    "我家空调这个月用了多少度电",
    "冰箱上个月用了多少电",
    "家里今年一共用了多少电",
    "热水器 最近 一周 用了 多少 电",
    "你好",
    "洗衣机去年的电费是多少",
)
TOKENS = ("demo-zhang-speaker", "demo-zhang-panel", "demo-li-speaker")
WARMUP, TURNS = 12, 300


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def text_turns(stack: RunningStack) -> dict[str, float]:
    """Latency of sequential text turns through gateway → Rasa → action → DB."""
    latencies: list[float] = []
    for i in range(WARMUP + TURNS):
        started = time.perf_counter()
        status, body = stack.converse(TOKENS[i % len(TOKENS)], QUESTIONS[i % len(QUESTIONS)])
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise RuntimeError(f"turn failed: {status} {body}")
        if i >= WARMUP:
            latencies.append(elapsed)
    return {
        "turn_p50_ms": round(statistics.median(latencies), 1),
        "turn_p95_ms": round(percentile(latencies, 0.95), 1),
        "turn_samples": len(latencies),
    }


def main() -> int:
    """Start a stack, measure, write results."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        stack = make_stack(Path(tmp))
        stack.start()
        try:
            figures: dict[str, Any] = text_turns(stack)
            pids = [stack.proc.pid] if stack.proc else []
            figures["rss_total_mb"] = round(rss_mb(pids + stack.children()), 1)
        finally:
            stack.stop()
    record(figures)
    return 0


def record(figures: dict[str, Any]) -> None:
    """Merge figures into results.json and append a dated section to RESULTS.md."""
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results.update(figures)
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {stamp}\n",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    ]
    lines += [f"- `{key}`: {value}" for key, value in sorted(figures.items())]
    with RESULTS_MD.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
