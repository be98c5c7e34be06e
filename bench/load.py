"""Load: N concurrent households mixing text and audio turns, a same-household burst and a 3× peak.

Households ``load-<i>-speaker|panel`` (``bot.testing.seed_load``) each run a coroutine: short multi-turn
flows (energy → saving → installment → confirm, trade-in, aftercare, small talk) and, now and then,
a spoken turn (a WAV made once by espeak-ng in the recogniser's language, sent to
``/api/v1/converse/audio``), with think time between turns. Phases: steady, a burst (several
requests of one household at once), a peak at three times the steady rate. Every request carries a
unique turn id; the client counts requests sent and responses received per id (each must be
exactly one) and any non-200 as an error. A spoken turn refused with ``stt_busy`` (every recogniser
busy) or ``uploads_busy`` (as many uploads in flight as the process takes): designed back-pressure,
is sent again after its ``Retry-After``, as a speaker does, under the
same idempotency key; such refusals are counted as ``shed``, not as errors. Afterwards
``bot invariants`` runs over the database.

Then a saturation phase (no think time, text only) measures ``turns_per_s_<N>_households``.

``python -m bench load [--households N] [--duration S] [--soak S]`` starts its own stack; ``--soak``
runs the steady phase for S seconds and samples the RSS of every stack process every 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.load_stack import invariant_violations, prepare, stack_pids
from bench.stats import percentile
from bot.store.invariants import client_ledger
from bot.testing.harness import RunningStack, make_stack, rss_mb
from bot.testing.seed_load import panel_token, speaker_token

HOUSEHOLDS = 50
DURATION_S = 120.0
THINK_S = (6.0, 18.0)
"""Think time between two turns of one household (uniform), in the steady phase: 50 households in
conversation at once offer ~4 turns/s, ~12 turns/s in the 3× peak (a home speaks a few times a day)."""
CAPACITY_S = 30.0
"""Length of the saturation phase (no think time, text only) that measures throughput."""
AUDIO_SHARE = 0.1
BURST_HOUSEHOLDS, BURST_REQUESTS = 10, 4
SOAK_SAMPLE_S = 30.0
REQUEST_TIMEOUT_S = 60.0
RETRIED_CODES = frozenset({"stt_busy", "uploads_busy"})
"""Refusals a well-behaved device answers by waiting ``Retry-After`` and sending the turn again."""
MAX_RETRIES = 5

FLOWS_CONSENTED: tuple[tuple[str, ...], ...] = (
    ("我家空调这个月用了多少电", "换个一级能效的空调能省多少钱", "分十二期每个月多少钱", "好的", "确认"),
    ("冰箱上个月用了多少电", "冰箱还在保修期吗", "旧冰箱能以旧换新吗", "为什么给我推荐这个"),
    ("新风机分十二期每个月多少钱", "年化利率是多少", "好的", "确认", "取消刚才的申请"),
    ("家里今年一共用了多少电", "积分能换什么"),
)
FLOWS_PLAIN: tuple[tuple[str, ...], ...] = (
    ("空调 这个 月 用了 多少 电", "换个一级能效的空调能省多少"),
    ("你好", "你是机器人吗", "今天天气怎么样", "拜拜"),
    ("新风机分二十四期月供多少", "总共要多花多少钱", "不用了谢谢"),
    ("冰箱上个月用了多少电", "电费是多少", "别再给我推荐了"),
)


@dataclass
class Sample:
    """One request: what, in which phase, its status and latency."""

    kind: str
    phase: str
    status: int
    ms: float


@dataclass
class LoadClient:
    """Sends turns and keeps the client-side books."""

    http: aiohttp.ClientSession
    base_url: str
    run_id: str
    audio: list[bytes]
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    samples: list[Sample] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    shed: Counter[str] = field(default_factory=Counter)
    _seq: int = 0

    def next_id(self, who: str) -> str:
        """A turn id no other request of this run uses."""
        self._seq += 1
        return f"{self.run_id}-{who}-{self._seq}"

    async def text(self, token: str, text: str, phase: str) -> None:
        """One text turn."""
        turn_id = self.next_id(token)
        body = {"text": text, "turn_id": turn_id}
        await self._send("text", phase, turn_id, "/api/v1/converse", token, json=body)

    async def spoken(self, token: str, wav: bytes, phase: str) -> None:
        """One spoken turn (WAV body, idempotency key header)."""
        turn_id = self.next_id(token)
        headers = {"Content-Type": "audio/wav", "Idempotency-Key": turn_id}
        await self._send("audio", phase, turn_id, "/api/v1/converse/audio", token, data=wav, headers=headers)

    async def _send(self, kind: str, phase: str, turn_id: str, path: str, token: str, **request: Any) -> None:
        headers = {"Authorization": f"Bearer {token}", **request.pop("headers", {})}
        started = time.perf_counter()
        for attempt in range(MAX_RETRIES + 1):
            request_id = f"{turn_id}/{attempt}"
            self.sent[request_id] += 1
            try:
                async with self.http.post(self.base_url + path, headers=headers, **request) as resp:
                    payload = await resp.json(content_type=None)
                    status, retry_after = resp.status, resp.headers.get("Retry-After", "1")
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                self.failures[type(err).__name__] += 1
                self.samples.append(Sample(kind, phase, 0, (time.perf_counter() - started) * 1000))
                return
            self.answered[request_id] += 1
            code = payload.get("error", {}).get("code", "?") if isinstance(payload, dict) else "?"
            if status == 503 and code in RETRIED_CODES and attempt < MAX_RETRIES:
                self.shed[code] += 1
                await asyncio.sleep(float(retry_after) if retry_after.isdigit() else 1.0)
                continue
            if status != 200:
                self.failures[f"{status} {code}"] += 1
            self.samples.append(Sample(kind, phase, status, (time.perf_counter() - started) * 1000))
            return


async def household(client: LoadClient, i: int, until: float, phase: str, think: tuple[float, float]) -> None:
    """One household talking until ``until`` (monotonic): flows of text turns, sometimes spoken."""
    rng = random.Random(f"{client.run_id}/{i}/{phase}")
    flows = FLOWS_CONSENTED if i % 2 == 0 else FLOWS_PLAIN
    await asyncio.sleep(rng.uniform(0, think[1]))
    while time.monotonic() < until:
        token = speaker_token(i) if rng.random() < 0.7 else panel_token(i)
        for text in rng.choice(flows):
            if time.monotonic() >= until:
                return
            if client.audio and rng.random() < AUDIO_SHARE:
                await client.spoken(token, rng.choice(client.audio), phase)
            else:
                await client.text(token, text, phase)
            await asyncio.sleep(rng.uniform(*think))


async def burst(client: LoadClient, households: int) -> None:
    """Several requests of one household at once (both devices), for a few households in turn."""
    for i in range(min(BURST_HOUSEHOLDS, households)):
        texts = ("我家空调这个月用了多少电", "冰箱上个月用了多少电", "你好", "积分能换什么")
        tokens = (speaker_token(i), panel_token(i))
        await asyncio.gather(
            *(client.text(tokens[k % 2], texts[k % len(texts)], "burst") for k in range(BURST_REQUESTS))
        )


async def drive(
    base_url: str, households: int, duration_s: float, audio: list[bytes], *, soak: bool = False
) -> LoadClient:
    """Run the phases: steady, burst, 3× peak (or only steady for a soak)."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        client = LoadClient(http, base_url, secrets.token_hex(4), audio)
        steady_s = duration_s if soak else duration_s * 0.6
        await _phase(client, households, steady_s, "steady", THINK_S)
        if not soak:
            await burst(client, households)
            peak = (THINK_S[0] / 3, THINK_S[1] / 3)
            await _phase(client, households, duration_s * 0.4, "peak", peak)
        return client


async def saturate(base_url: str, households: int, seconds: float) -> LoadClient:
    """Every household sends its next text turn as soon as the last is answered: the throughput."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
        client = LoadClient(http, base_url, secrets.token_hex(4), [])
        await _phase(client, households, seconds, "capacity", (0.0, 0.0))
        return client


async def _phase(
    client: LoadClient, households: int, seconds: float, name: str, think: tuple[float, float]
) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(*(household(client, i, until, name, think) for i in range(households)))


def figures(
    client: LoadClient, elapsed_s: float, stack: RunningStack, rss: tuple[float, float]
) -> dict[str, Any]:
    """The ``load_<N>_households`` figures."""
    text = [s for s in client.samples if s.kind == "text" and s.status == 200]
    text_ms = [s.ms for s in text]
    errors = sum(1 for s in client.samples if s.status != 200)
    ledger = client_ledger(client.sent, client.answered)
    return {
        "turns_per_s": round(len(client.samples) / elapsed_s, 2),
        "p50_ms": round(statistics.median(text_ms), 1) if text_ms else None,
        "p95_ms": round(percentile(text_ms, 0.95), 1) if text_ms else None,
        "error_rate": round(errors / max(1, len(client.samples)), 4),
        "invariant_violations": invariant_violations(stack) + len(ledger),
        "rss_growth_pct": round(100 * (rss[1] - rss[0]) / rss[0], 1) if rss[0] else None,
        "turns": len(client.samples),
        "audio_turns": sum(1 for s in client.samples if s.kind == "audio"),
        "failures": dict(client.failures),
        "shed": dict(client.shed),
        "p95_ms_by_phase": {
            phase: round(percentile(ms, 0.95), 1)
            for phase in ("steady", "burst", "peak")
            if (ms := [s.ms for s in text if s.phase == phase])
        },
    }


def run(stack: RunningStack, households: int = HOUSEHOLDS, duration_s: float = DURATION_S) -> dict[str, Any]:
    """The load benchmark against a started stack (``BENCHMARKS`` entry)."""
    audio = prepare(stack, households)
    rss_start = rss_mb(stack_pids(stack))
    started = time.monotonic()
    client = asyncio.run(drive(stack.url, households, duration_s, audio))
    elapsed = time.monotonic() - started
    load = figures(client, elapsed, stack, (rss_start, rss_mb(stack_pids(stack))))
    started = time.monotonic()
    capacity = asyncio.run(saturate(stack.url, households, CAPACITY_S))
    elapsed = time.monotonic() - started
    ok = [s.ms for s in capacity.samples if s.status == 200]
    return {
        f"load_{households}_households": load,
        f"turns_per_s_{households}_households": round(len(ok) / elapsed, 2),
        f"capacity_{households}_households_p50_ms": round(statistics.median(ok), 1) if ok else None,
        f"capacity_{households}_households_errors": len(capacity.samples) - len(ok),
    }


def soak(stack: RunningStack, seconds: float, households: int = HOUSEHOLDS) -> dict[str, Any]:
    """Steady load for ``seconds`` with the stack's RSS sampled every 30 s: is memory flat?"""
    audio = prepare(stack, households)
    samples: list[float] = []

    async def sampled() -> LoadClient:
        async def sampler() -> None:
            while True:
                samples.append(rss_mb(stack_pids(stack)))
                await asyncio.sleep(SOAK_SAMPLE_S)

        task = asyncio.create_task(sampler())
        try:
            return await drive(stack.url, households, seconds, audio, soak=True)
        finally:
            task.cancel()

    client = asyncio.run(sampled())
    samples.append(rss_mb(stack_pids(stack)))
    errors = sum(1 for s in client.samples if s.status != 200)
    start, end = samples[min(1, len(samples) - 1)], samples[-1]  # first sample after warm-up
    return {
        "soak_minutes": round(seconds / 60, 1),
        "soak_rss_start_mb": round(start, 1),
        "soak_rss_end_mb": round(end, 1),
        "soak_rss_growth_pct": round(100 * (end - start) / start, 1) if start else None,
        "soak_turns": len(client.samples),
        "soak_error_rate": round(errors / max(1, len(client.samples)), 4),
        "soak_invariant_violations": invariant_violations(stack)
        + len(client_ledger(client.sent, client.answered)),
    }


def main(argv: list[str]) -> int:
    """``python -m bench load [--households N] [--duration S] [--soak S]``: own stack, results recorded."""
    from bench.__main__ import bench_config, record

    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds of load (steady + peak)")
    parser.add_argument("--soak", type=float, default=None, help="seconds of steady load, RSS sampled")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        stack = make_stack(Path(tmp), {"BOT_CONFIG": str(bench_config(Path(tmp)))})
        stack.start()
        try:
            if args.soak is not None:
                out = soak(stack, args.soak, args.households)
            else:
                out = run(stack, args.households, args.duration)
        finally:
            stack.stop()
    record(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
