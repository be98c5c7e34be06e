"""Child processes of ``bot up``: spawn, restart with back-off when one dies, stop as a group.

A crashed component is restarted after 0.5 s, 1 s, 2 s … (at most 10 s). More than
``MAX_RESTARTS`` restarts of one component within a minute means it cannot run: the supervisor
gives up and ``bot up`` exits 1. While a component is down the gateway answers turns with the
apology and ``/healthz`` shows it red.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StackError

Say = Callable[[str], None]
STOP_GRACE_S = 10.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0


@dataclass(frozen=True)
class Component:
    """A child process of the stack and how to tell that it is ready."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str | None
    """Answers 200 once the component is ready; None: ready once started (e.g. extra gateways)."""
    log: Path


class GaveUp(StackError):
    """A component kept dying: restarting it further is pointless."""

    code = "component_crashing"


def backoff_s(attempt: int, first_s: float = BACKOFF_FIRST_S) -> float:
    """Delay before the ``attempt``-th restart within the window (1-based)."""
    return float(min(BACKOFF_MAX_S, first_s * 2 ** (attempt - 1)))


class Supervisor:
    """Owns the processes; ``supervise`` restarts one component until told to stop."""

    def __init__(
        self,
        cwd: Path,
        say: Say,
        *,
        max_restarts: int = MAX_RESTARTS,
        backoff_first_s: float = BACKOFF_FIRST_S,
    ) -> None:
        self._cwd = cwd
        self._say = say
        self._max_restarts = max_restarts
        self._backoff_first_s = backoff_first_s
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._stopping = False

    async def spawn(self, comp: Component) -> None:
        """Start the component in its own process group, output appended to its log."""
        with comp.log.open("ab") as log:
            self.procs[comp.name] = await asyncio.create_subprocess_exec(
                *comp.argv,
                cwd=self._cwd,
                env=comp.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    async def supervise(self, comp: Component) -> None:
        """Restart ``comp`` whenever it exits; raise GaveUp when it crashes too often."""
        restarts: deque[float] = deque()
        while True:
            proc = self.procs[comp.name]
            code = await proc.wait()
            if self._stopping:
                return
            _signal_group(proc, signal.SIGKILL)  # helpers it left behind would hold its port
            now = time.monotonic()
            restarts.append(now)
            while restarts and now - restarts[0] > RESTART_WINDOW_S:
                restarts.popleft()
            if len(restarts) > self._max_restarts:
                raise GaveUp(
                    f"{comp.name} exited {len(restarts)} times within {RESTART_WINDOW_S:.0f} s "
                    f"(last code {code}); giving up — see {comp.log}"
                )
            delay = backoff_s(len(restarts), self._backoff_first_s)
            self._say(f"✗ {comp.name} exited with code {code}; restarting in {delay:.1f} s (see {comp.log})")
            await asyncio.sleep(delay)
            if self._stopping:
                return
            await self.spawn(comp)
            self._say(f"↻ {comp.name} restarted (pid {self.procs[comp.name].pid})")

    async def stop(self) -> None:
        """Stop each child's whole process group (TERM, then KILL after a grace period)."""
        self._stopping = True
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
                await _wait_group_gone(proc.pid, STOP_GRACE_S)
            except TimeoutError:
                self._say(f"{name} did not stop in {STOP_GRACE_S:.0f} s; killing it")
                _signal_group(proc, signal.SIGKILL)
                await proc.wait()
        self.procs.clear()


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields of ``/proc/<pid>/stat`` after the command name) of every live process:
    ``fields[0]`` is the state, ``[1]`` the parent pid, ``[2]`` the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(stat.parent.name), fields


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    return [pid for pid, fields in proc_stats() if fields[0] != "Z" and int(fields[2]) == pgid]


async def _wait_group_gone(pgid: int, timeout_s: float) -> None:
    """Wait until every helper process the child started has exited too (TimeoutError if not)."""
    async with asyncio.timeout(timeout_s):
        while group_members(pgid):
            await asyncio.sleep(0.1)
