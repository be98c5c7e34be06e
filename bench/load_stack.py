"""The stack side of the load benchmark: seeding, spoken WAVs, the stack's processes, invariants."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from bot.store.db import make_engine, utcnow
from bot.testing.harness import RunningStack, operator_health
from bot.testing.seed_load import seed_load


def spoken_wavs(stack: RunningStack) -> list[bytes]:
    """WAVs of a few phrases in the stack recogniser's language; none when the stack has no STT."""
    if not _stt_up(stack):
        return []
    from bench.speech import PHRASES, VOICES
    from bench.voice import stack_language

    language = stack_language(stack)
    return [
        subprocess.run(
            ["espeak-ng", "-v", VOICES[language], "-s", "150", "--stdout", phrase],
            capture_output=True,
            check=True,
        ).stdout
        for phrase in PHRASES[language][:3]
    ]


def _stt_up(stack: RunningStack) -> bool:
    try:
        with urllib.request.urlopen(operator_health(stack.url), timeout=10) as resp:
            return bool(json.loads(resp.read())["components"].get("stt", {}).get("ok"))
    except (OSError, ValueError, KeyError):
        return False


def stack_pids(stack: RunningStack) -> list[int]:
    """``bot up`` and every process below it (Rasa, action server, their workers)."""
    if stack.proc is None:
        return []
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [stack.proc.pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def invariant_violations(stack: RunningStack) -> int:
    """``bot invariants --json`` over the stack's database: the number of violations."""
    result = stack.bot("invariants", "--json", timeout=600)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"bot invariants failed: {result.stderr[-2000:]}")
    return int(json.loads(result.stdout)["count"])


def prepare(stack: RunningStack, households: int) -> list[bytes]:
    """Seed the load households into the stack's database; WAVs for spoken turns."""
    engine = make_engine(stack.db_url)
    try:
        seed_load(engine, households, utcnow())
    finally:
        engine.dispose()
    return spoken_wavs(stack)
