"""Text turn latency through gateway → Rasa → action server → DB, and memory of the stack."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.load_stack import stack_pids
from bench.stats import percentile
from bot.testing.harness import RunningStack, rss_mb

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


def turn(stack: RunningStack, i: int) -> float:
    """The ``i``-th turn of the sequence (device and question by rotation); its wall time in ms."""
    started = time.perf_counter()
    status, body = stack.converse(TOKENS[i % len(TOKENS)], QUESTIONS[i % len(QUESTIONS)])
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"turn failed: {status} {body}")
    return elapsed


def run(stack: RunningStack) -> dict[str, Any]:
    """Sequential text turns over three devices of two households, after a warm-up."""
    latencies = [turn(stack, i) for i in range(WARMUP + TURNS)][WARMUP:]
    pids = stack_pids(stack)  # the whole tree: the action server's Sanic workers are grandchildren
    return {
        "turn_p50_ms": round(statistics.median(latencies), 1),
        "turn_p95_ms": round(percentile(latencies, 0.95), 1),
        "turn_samples": len(latencies),
        "rss_total_mb": round(rss_mb(pids), 1),
    }
