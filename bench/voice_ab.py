"""End of speech → first audio before and after issue 19's latency work, in the same run.

A second gateway (``bot serve``) is started next to the stack's, on the same Rasa, action server and
database, with the speech settings as they were before (``BEFORE``: the WebRTC VAD, the final decoded
only at the end, no speculative NLU, the answer synthesised only once the turn is recorded). The same
spoken WAVs are streamed in real time over ``/api/v1/voice`` to both, alternately (which goes first
alternates too), so load on a shared machine hits both alike. The figure is ``bench.voice``'s: from
the frame holding the last loud sample to the first audio byte.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.speech import PHRASES, _speech
from bench.stats import percentile
from bench.voice import TOKEN, one_run, stack_language
from bot.testing.harness import BOT, RunningStack, free_port

BEFORE = {
    "vad_engine": '"webrtc"',
    "early_final": "false",
    "speculative_nlu": "false",
    "speak_ahead": "false",
}
"""The speech settings the gateway had before (everything else as configured)."""
ROUNDS = 3
"""Passes over the five phrases, each phrase streamed to both gateways."""


def before_config(stack: RunningStack, folder: Path) -> Path:
    """The stack's config file with the ``BEFORE`` speech settings."""
    source = stack.env.get("BOT_CONFIG")
    lines = Path(source).read_text(encoding="utf-8").splitlines() if source else []
    settings = [f"{k} = {v}" for k, v in BEFORE.items()]
    if "[speech]" in lines:
        at = lines.index("[speech]") + 1
        lines[at:at] = settings
    else:
        lines += ["[speech]", *settings]
    path = folder / "before.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def before_gateway(stack: RunningStack) -> Iterator[str]:
    """A ``bot serve`` with the ``BEFORE`` settings on a port of its own; its URL."""
    port = free_port()
    env = {**stack.env, "BOT_PORT": str(port), "BOT_CONFIG": str(before_config(stack, stack.var_dir))}
    log = (stack.var_dir / "before-gateway.log").open("wb")
    proc = subprocess.Popen([BOT, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the second gateway exited; see before-gateway.log")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError("the second gateway did not become healthy")


async def interleaved(urls: dict[str, str], samples: list[tuple[bytes, float]]) -> dict[str, list[float]]:
    """Each sample to every gateway in turn, ``ROUNDS`` times; latencies per gateway."""
    out: dict[str, list[float]] = {name: [] for name in urls}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        sockets = {
            name: await http.ws_connect(f"{url}/api/v1/voice", headers=headers) for name, url in urls.items()
        }
        try:
            for ws in sockets.values():
                await one_run(ws, *samples[0])  # warm-up
            for n in range(ROUNDS * len(samples)):
                order = list(sockets) if n % 2 == 0 else list(reversed(sockets))
                for name in order:
                    value = await one_run(sockets[name], *samples[n % len(samples)])
                    if value is not None:
                        out[name].append(value)
        finally:
            for ws in sockets.values():
                await ws.close()
    return out


def run(stack: RunningStack) -> dict[str, Any]:
    """p50 / p95 of end of speech → first audio, before and after, interleaved."""
    samples = [_speech(p, stack_language(stack)) for p in PHRASES[stack_language(stack)]]
    with before_gateway(stack) as before_url:
        found = asyncio.run(interleaved({"before": before_url, "after": stack.url}, samples))
    figures: dict[str, Any] = {"voice_ab_samples": min(len(v) for v in found.values())}
    for name, values in found.items():
        figures[f"voice_ab_{name}_eos_to_first_audio_p50_ms"] = round(statistics.median(values), 1)
        figures[f"voice_ab_{name}_eos_to_first_audio_p95_ms"] = round(percentile(values, 0.95), 1)
    return figures
