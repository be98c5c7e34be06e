"""End of speech → first TTS audio byte at the client, over the real ``/api/v1/voice`` websocket.

Spoken WAVs (espeak-ng in the recogniser's language, as the speech tests make them) are streamed at
real-time pace in 30 ms PCM16 frames, then silence until the first binary (WAV) frame comes back.
The clock starts when the frame holding the last loud sample (the end of speech) has been sent, so
the figure covers what the user waits for: the VAD's trailing silence, the recogniser's final
result, the text turn through Rasa and the action server, and synthesis of the first sentence.

How many turns reused the NLU run ahead on their final (speculative NLU) is counted in Rasa's log.
Where the time after the final goes is read from the server's own event times (``at_ms``): the
turn (Rasa, the action server and the read of the dialogue state) up to the ``dialogue`` event, then
up to ``tts-start`` (the turn recorded), then the client's wait for the first audio after
``tts-start``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import aiohttp

from bench.speech import PHRASES, _speech
from bench.stats import percentile
from bot.config import load_config
from bot.rasa.serve import REUSED
from bot.speech.registry import resolve
from bot.speech.settings import SpeechSettings
from bot.testing.harness import RunningStack

FRAME_MS = 30
ROUNDS = 4
"""Passes over the five phrases (20 spoken turns)."""
SILENCE_S = 8.0
"""Most silence sent after the speech while waiting for the answer."""
TOKEN = "demo-zhang-speaker"


def stack_language(stack: RunningStack) -> str:
    """Language of the recogniser the stack's gateway loads (its ``[speech] model``)."""
    config = load_config(env=stack.env)
    return resolve(SpeechSettings.from_config(config).model, config.models_dir).language


def frames(pcm: bytes, frame_ms: int = FRAME_MS) -> list[bytes]:
    """PCM16 16 kHz cut into frames of ``frame_ms`` (the last one may be short)."""
    size = 16000 * 2 * frame_ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def eos_frame(eos_s: float, frame_ms: int = FRAME_MS) -> int:
    """Index of the frame that holds the end of speech at stream time ``eos_s``."""
    return max(0, int(eos_s * 1000 // frame_ms))


async def one_run(
    ws: aiohttp.ClientWebSocketResponse,
    pcm: bytes,
    eos_s: float,
    finals: list[float] | None = None,
    stages: dict[str, list[float]] | None = None,
) -> float | None:
    """Stream one utterance in real time; ms from end of speech to the first audio (None: no audio).

    ``finals`` collects ms from the end of speech to the ``stt-final`` event, ``stages`` the
    server's times from the final to ``dialogue``, on to ``tts-start``, and the client's from
    ``tts-start`` to the first audio."""
    await ws.send_json({"type": "start", "sample_rate": 16000, "format": "pcm16"})
    chunks = frames(pcm)
    last = eos_frame(eos_s)
    silence = bytes(len(chunks[0]))
    first: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    ended, heard = asyncio.Event(), asyncio.Event()
    errors: list[str] = []
    final_at: list[float] = []
    marks: dict[str, tuple[float, float]] = {}
    reader = asyncio.create_task(_read(ws, first, ended, heard, errors, final_at, marks))
    t0 = time.perf_counter()
    eos_at = None
    n = 0
    try:
        # Audio stops once the final result is in: frames after run-end would start no run.
        while (
            not heard.is_set()
            and not ended.is_set()
            and n * FRAME_MS < (len(chunks) * FRAME_MS + SILENCE_S * 1000)
        ):
            await asyncio.sleep(max(0.0, t0 + n * FRAME_MS / 1000 - time.perf_counter()))
            await ws.send_bytes(chunks[n] if n < len(chunks) else silence)
            if n == last:
                eos_at = time.perf_counter()
            n += 1
        if not heard.is_set() and not ended.is_set():
            await ws.send_json({"type": "end"})  # nothing recognised: close the run
        await asyncio.wait_for(ended.wait(), timeout=30)
    finally:
        reader.cancel()
    if errors or not first.done() or eos_at is None:
        return None  # an error's spoken apology is not an answer
    if finals is not None and final_at:
        finals.append((final_at[0] - eos_at) * 1000)
    if stages is not None:
        _stages(marks, first.result(), stages)
    return (first.result() - eos_at) * 1000


STAGES = ("final_to_dialogue", "dialogue_to_tts_start", "tts_start_to_first_audio")


def _stages(marks: dict[str, tuple[float, float]], first: float, out: dict[str, list[float]]) -> None:
    """Server ``at_ms`` differences between the final and tts-start; client time from tts-start on."""
    if not {"stt-final", "dialogue", "tts-start"} <= set(marks):
        return
    at = {kind: server for kind, (server, _) in marks.items()}
    out.setdefault(STAGES[0], []).append(at["dialogue"] - at["stt-final"])
    out.setdefault(STAGES[1], []).append(at["tts-start"] - at["dialogue"])
    out.setdefault(STAGES[2], []).append((first - marks["tts-start"][1]) * 1000)


async def _read(
    ws: aiohttp.ClientWebSocketResponse,
    first: asyncio.Future[float],
    ended: asyncio.Event,
    heard: asyncio.Event,
    errors: list[str],
    final_at: list[float],
    marks: dict[str, tuple[float, float]],
) -> None:
    while True:
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.BINARY:
            if not first.done():
                first.set_result(time.perf_counter())
        elif msg.type == aiohttp.WSMsgType.TEXT:
            event = json.loads(msg.data)
            marks.setdefault(event.get("type"), (float(event.get("at_ms", 0.0)), time.perf_counter()))
            if event.get("type") == "stt-final":
                final_at.append(time.perf_counter())
                heard.set()
            if event.get("type") == "error":
                errors.append(str(event.get("data", {}).get("code")))
            if event.get("type") == "run-end":
                ended.set()
                return
        else:
            ended.set()
            return


async def measure(
    url: str,
    samples: list[tuple[bytes, float]],
    rounds: int = ROUNDS,
    finals: list[float] | None = None,
    stages: dict[str, list[float]] | None = None,
    token: str = TOKEN,
) -> tuple[list[float], int]:
    """Latencies of every run with audio, and how many runs gave none (``finals``: eos → stt-final,
    ``stages``: where the time after the final goes); ``token``: the device that speaks."""
    latencies: list[float] = []
    missing = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/api/v1/voice", headers=headers) as ws:
        await one_run(ws, *samples[0])  # warm-up
        for _ in range(rounds):
            for pcm, eos_s in samples:
                value = await one_run(ws, pcm, eos_s, finals, stages)
                if value is None:
                    missing += 1
                else:
                    latencies.append(value)
    return latencies, missing


def rasa_reuses(stack: RunningStack) -> int:
    """Turns so far that reused a speculative parse (Rasa logs each; ``bot.rasa.serve``)."""
    log = stack.var_dir / "log" / "rasa.log"
    return log.read_text(errors="replace").count(REUSED) if log.exists() else 0


def run(stack: RunningStack) -> dict[str, Any]:
    """p50 / p95 of end of speech → first audio over the phrases."""
    language = stack_language(stack)
    samples = [_speech(p, language) for p in PHRASES[language]]
    finals: list[float] = []
    stages: dict[str, list[float]] = {}
    reused = rasa_reuses(stack)
    latencies, missing = asyncio.run(measure(stack.url, samples, finals=finals, stages=stages))
    reused = rasa_reuses(stack) - reused
    if not latencies:
        raise RuntimeError("no voice run produced audio (is a speech model configured for the stack?)")
    after_final = [a - f for a, f in zip(latencies, finals, strict=False)]
    return {
        "voice_eos_to_first_audio_p50_ms": round(statistics.median(latencies), 1),
        "voice_eos_to_first_audio_p95_ms": round(percentile(latencies, 0.95), 1),
        "voice_eos_to_final_p50_ms": round(statistics.median(finals), 1) if finals else None,
        "voice_final_to_first_audio_p50_ms": round(statistics.median(after_final), 1) if finals else None,
        **{f"voice_{k}_p50_ms": round(statistics.median(v), 1) for k, v in stages.items()},
        "voice_nlu_reused_rate": round(reused / (ROUNDS * len(samples) + 1), 3),  # + the warm-up
        "voice_samples": len(latencies),
        "voice_runs_without_audio": missing,
    }
