"""Voice never starves text: text-turn p95 while voice clients keep the recognisers busy, against the
idle text p95 measured in the same run (idle and loaded windows interleaved, so other load on the
machine hits both alike).

Voice load: ``VOICE_CLIENTS`` speakers of another household (each its own device: the gateway allows
one voice websocket per device), each streaming espeak-ng speech in real time, run after run (each
run is a whole voice turn: recognition, the dialogue, synthesis). A voice client that fails fails
the benchmark: the figure would otherwise be taken under less load than it says.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from bench.conversation import add_speakers
from bench.speech import PHRASES, _speech
from bench.stats import percentile
from bench.turns import QUESTIONS
from bench.voice import measure, stack_language
from bot.testing.harness import RunningStack

VOICE_CLIENTS = 3
WINDOWS = 4
"""Idle/loaded window pairs (two gave p95s that moved by half between runs: 80 turns per side)."""
TURNS_PER_WINDOW = 40
TEXT_TOKENS = ("demo-zhang-panel", "demo-zhang-speaker")
"""Text turns come from other devices than the voice load's."""
VOICE_HOUSEHOLD = "李家"


def _text_turns(stack: RunningStack, n: int) -> list[float]:
    out: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        status, body = stack.converse(TEXT_TOKENS[i % len(TEXT_TOKENS)], QUESTIONS[i % len(QUESTIONS)])
        if status != 200:
            raise RuntimeError(f"text turn failed: {status} {body}")
        out.append((time.perf_counter() - started) * 1000)
    return out


class VoiceLoad:
    """Voice clients streaming in a background event loop until stopped."""

    def __init__(self, stack: RunningStack, samples: list[tuple[bytes, float]], tokens: list[str]):
        self._stack, self._samples, self._tokens = stack, samples, tokens
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._failure: BaseException | None = None
        self.runs = 0

    def __enter__(self) -> VoiceLoad:
        self._thread.start()
        time.sleep(1.0)  # the clients are streaming before the first text turn
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        if self._failure is not None:
            raise RuntimeError(f"a voice client failed: {self._failure!r}") from self._failure

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported by __exit__, in the benchmark's thread
            self._failure = err
            self._stop.set()

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(token) for token in self._tokens))

    async def _client(self, token: str) -> None:
        while not self._stop.is_set():
            await measure(self._stack.url, self._samples, rounds=1, token=token)
            self.runs += len(self._samples) + 1


def run(stack: RunningStack) -> dict[str, Any]:
    """p95 of text turns, idle and under voice load, and their ratio."""
    language = stack_language(stack)
    samples = [_speech(p, language) for p in PHRASES[language][:2]]
    speakers = add_speakers(stack.db_url, VOICE_HOUSEHOLD, VOICE_CLIENTS, "bench-voice-load")
    _text_turns(stack, 10)  # warm-up
    idle: list[float] = []
    loaded: list[float] = []
    voice_runs = 0
    for _ in range(WINDOWS):
        idle += _text_turns(stack, TURNS_PER_WINDOW)
        with VoiceLoad(stack, samples, speakers) as load:
            loaded += _text_turns(stack, TURNS_PER_WINDOW)
        voice_runs += load.runs
    idle_p95, loaded_p95 = percentile(idle, 0.95), percentile(loaded, 0.95)
    return {
        "text_turn_p95_idle_ms": round(idle_p95, 1),
        "text_turn_p95_under_voice_load_ms": round(loaded_p95, 1),
        "text_turn_p95_under_voice_load_ratio": round(loaded_p95 / idle_p95, 2),
        "text_under_voice_load_samples": len(loaded),
        "text_under_voice_load_voice_runs": voice_runs,
        "text_under_voice_load_clients": VOICE_CLIENTS,
    }
