"""The edge under abuse (issue 20): another household's text turns while one token pushes twenty
8 MB spoken uploads at once, against their latency with the gateway idle.

The uploads are a phrase padded with silence to 8 MB (16 kHz mono, about 250 s; the bench stack
allows 300 s of audio so the one upload the per-token cap lets in is really decoded). The other 19
are refused before their body is read (429 ``too_many_uploads``); the accepted one holds one
recogniser for its whole decode. Text turns of 李家 run back to back meanwhile. Correctness (every
text turn answered, the refusals clear) is tested in ``tests/test_edge_abuse.py``; this records how
fast.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any

from bench.stats import percentile
from bot.speech.audio import pcm16_to_wav, wav_to_pcm16
from bot.testing.harness import RunningStack

TURNS = 40
UPLOADS = 20
UPLOAD_BYTES = 8_000_000
TEXT_TOKEN = "demo-li-speaker"
UPLOAD_TOKEN = "demo-zhang-speaker"


def _phrase_wav() -> bytes:
    """An 8 MB WAV: one spoken phrase (espeak-ng, when installed) padded with silence."""
    import subprocess

    try:
        wav = subprocess.run(
            ["espeak-ng", "-v", "cmn", "--stdout", "空调用了多少电"], capture_output=True, check=True
        ).stdout
        pcm = bytes(16000) + wav_to_pcm16(wav)
    except (OSError, subprocess.CalledProcessError):
        pcm = b""
    return pcm16_to_wav(pcm + bytes(UPLOAD_BYTES - 44 - len(pcm)))


def _text_turns(stack: RunningStack, n: int) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    for i in range(n):
        started = time.perf_counter()
        status, _ = stack.converse(TEXT_TOKEN, f"冰箱这个月用了多少电{i}", turn_id=uuid.uuid4().hex)
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
    return latencies, statuses


def _upload(stack: RunningStack, wav: bytes, out: Counter[str]) -> None:
    request = urllib.request.Request(
        f"{stack.url}/api/v1/converse/audio",
        data=wav,
        headers={"Authorization": f"Bearer {UPLOAD_TOKEN}", "Content-Type": "audio/wav"},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as resp:
            out[str(resp.status)] += 1
    except urllib.error.HTTPError as err:
        out[str(err.code)] += 1
    except OSError as err:  # the server closed a refused upload's connection mid-body
        out[type(err).__name__] += 1


def run(stack: RunningStack) -> dict[str, Any]:
    """Idle text-turn latency, then the same under twenty parallel 8 MB uploads of one token."""
    _text_turns(stack, 5)  # warm up
    idle, _ = _text_turns(stack, TURNS)
    wav, uploads = _phrase_wav(), Counter[str]()
    threads = [threading.Thread(target=_upload, args=(stack, wav, uploads)) for _ in range(UPLOADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    busy, statuses = _text_turns(stack, TURNS)
    for thread in threads:
        thread.join()
    idle_p95, busy_p95 = percentile(idle, 0.95), percentile(busy, 0.95)
    return {
        "edge_text_idle_p50_ms": round(percentile(idle, 0.5), 1),
        "edge_text_idle_p95_ms": round(idle_p95, 1),
        "edge_text_under_uploads_p50_ms": round(percentile(busy, 0.5), 1),
        "edge_text_under_uploads_p95_ms": round(busy_p95, 1),
        "edge_text_under_uploads_p95_ratio": round(busy_p95 / idle_p95, 2) if idle_p95 else None,
        "edge_text_under_uploads_ok": statuses[200],
        "edge_uploads_outcomes": dict(sorted(uploads.items())),
        "edge_uploads_wall_s": round(time.perf_counter() - started, 1),
    }
