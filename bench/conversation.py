"""Long conversations, memory growth over many turns, and bursts within one household.

- ``long_conversation_latency_ratio``: one device, ``LONG_TURNS`` turns in one conversation; median
  of the last 50 turns over the median of the first 50 (Rasa replays the whole tracker per turn).
- ``rss_growth_10k_turns_pct``: resident memory of every stack process after ``GROWTH_TURNS`` turns
  spread over many devices (extra speakers added to the demo households in the benchmark's own
  database) against the figure after a warm-up.
- ``same_household_burst_wait_ms``: ``BURST`` devices of one household speak at once; the p95 of
  each turn's wait beyond the median of lone turns of the same devices.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlmodel import select

from bench.load_stack import stack_pids
from bench.stats import percentile
from bench.turns import QUESTIONS
from bot.store.db import make_engine, session_scope, utcnow
from bot.store.models import Device, DeviceCategory, Household, TokenRole
from bot.store.repo import issue_token
from bot.testing.harness import RunningStack, rss_mb

LONG_TURNS, WINDOW = 550, 50
GROWTH_TURNS, GROWTH_WARMUP, GROWTH_DEVICES, GROWTH_CLIENTS = 10_000, 200, 40, 4
BURST, BURST_ROUNDS = 3, 30
HOUSEHOLDS = ("张家", "李家")
Converse = Callable[[str, str], float]


def add_speakers(db_url: str, household: str, count: int, prefix: str) -> list[str]:
    """Add ``count`` speakers with device tokens to a demo household; returns the tokens."""
    engine = make_engine(db_url)
    tokens = [f"{prefix}-{i}" for i in range(count)]
    try:
        with session_scope(engine) as session:
            home = session.exec(select(Household).where(Household.name == household)).one()
            for token in tokens:
                device = Device(
                    household_id=home.id or 0,
                    category=DeviceCategory.SPEAKER,
                    name=f"测试音箱{token}",
                    brand="小米",
                    model="小爱音箱",
                    room="卧室",
                    purchased_on=date(2024, 1, 1),
                    warranty_until=date(2025, 1, 1),
                )
                session.add(device)
                session.flush()
                issue_token(session, token, TokenRole.DEVICE, home.tenant_id, device.id, "bench", utcnow())
    finally:
        engine.dispose()
    return tokens


def converser(stack: RunningStack) -> Converse:
    """A text turn on the stack; returns its wall time in ms (errors raise)."""

    def converse(token: str, text: str) -> float:
        started = time.perf_counter()
        status, body = stack.converse(token, text)
        if status != 200:
            raise RuntimeError(f"turn failed: {status} {body}")
        return (time.perf_counter() - started) * 1000

    return converse


def latency_ratio(latencies: list[float], window: int = WINDOW) -> float:
    """Median of the last ``window`` turns over the median of the first ``window``."""
    return statistics.median(latencies[-window:]) / statistics.median(latencies[:window])


def growth_pct(before: float, after: float) -> float:
    """Relative growth in percent."""
    return (after - before) / before * 100


def extra_waits(burst: list[float], lone: list[float]) -> list[float]:
    """How much longer each burst turn took than a typical lone turn (never below 0)."""
    typical = statistics.median(lone)
    return [max(0.0, value - typical) for value in burst]


def long_conversation(converse: Converse, token: str) -> list[float]:
    """Turn latencies of one device's long conversation."""
    return [converse(token, QUESTIONS[i % len(QUESTIONS)]) for i in range(LONG_TURNS)]


def stack_rss(stack: RunningStack) -> float:
    """Resident MB of ``bot up`` and its children."""
    return rss_mb(stack_pids(stack))


def many_turns(converse: Converse, tokens: list[str], count: int, offset: int = 0) -> None:
    """``count`` turns over ``tokens`` from ``GROWTH_CLIENTS`` concurrent clients."""

    def one(i: int) -> float:
        return converse(tokens[i % len(tokens)], QUESTIONS[(i // len(tokens)) % len(QUESTIONS)])

    with ThreadPoolExecutor(GROWTH_CLIENTS) as pool:
        list(pool.map(one, range(offset, offset + count)))


def bursts(converse: Converse, tokens: list[str]) -> tuple[list[float], list[float]]:
    """Lone turns and burst turns of one household's devices, interleaved round by round."""
    lone: list[float] = []
    burst: list[float] = []
    with ThreadPoolExecutor(len(tokens)) as pool:
        for r in range(BURST_ROUNDS):
            text = QUESTIONS[r % len(QUESTIONS)]
            lone.append(converse(tokens[r % len(tokens)], text))
            burst += pool.map(lambda token, text=text: converse(token, text), tokens)
    return lone, burst


def run(stack: RunningStack) -> dict[str, Any]:
    """The three figures (and their sample sizes)."""
    converse = converser(stack)
    long_token = add_speakers(stack.db_url, HOUSEHOLDS[1], 1, "bench-long")[0]
    long = long_conversation(converse, long_token)
    family = ["demo-zhang-speaker", "demo-zhang-panel"]
    family += add_speakers(stack.db_url, HOUSEHOLDS[0], max(0, BURST - len(family)), "bench-burst")
    lone, burst = bursts(converse, family[:BURST])
    waits = extra_waits(burst, lone)
    crowd = [
        token
        for n, home in enumerate(HOUSEHOLDS)
        for token in add_speakers(stack.db_url, home, GROWTH_DEVICES // 2, f"bench-crowd{n}")
    ]
    many_turns(converse, crowd, GROWTH_WARMUP)
    before = stack_rss(stack)
    many_turns(converse, crowd, GROWTH_TURNS, offset=GROWTH_WARMUP)
    after = stack_rss(stack)
    return {
        "long_conversation_latency_ratio": round(latency_ratio(long), 2),
        "long_conversation_first50_p50_ms": round(statistics.median(long[:WINDOW]), 1),
        "long_conversation_last50_p50_ms": round(statistics.median(long[-WINDOW:]), 1),
        "same_household_burst_wait_ms": round(percentile(waits, 0.95), 1),
        "same_household_burst_size": BURST,
        "same_household_lone_turn_p50_ms": round(statistics.median(lone), 1),
        "rss_after_warmup_mb": round(before, 1),
        "rss_after_10k_turns_mb": round(after, 1),
        "rss_growth_10k_turns_pct": round(growth_pct(before, after), 1),
    }
