"""Drive a real stack (``bot up`` in a subprocess) from end-to-end tests and benchmarks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.rasa.training import train
from bot.stack.supervisor import proc_stats

BOT = str(Path(sys.executable).parent / "bot")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    """A ``bot up`` process with its own var folder, database and ports."""

    var_dir: Path
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.var_dir / "up.log"

    @property
    def url(self) -> str:
        """Gateway base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_url(self) -> str:
        """The stack's database."""
        return self.env["BOT_DATABASE_URL"]

    def bot(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a ``bot`` command against this stack's config."""
        return subprocess.run(
            [BOT, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def converse(self, token: str, text: str, **extra: Any) -> tuple[int, dict[str, Any]]:
        """POST a text turn; returns status and JSON body."""
        req = urllib.request.Request(
            f"{self.url}/api/v1/converse",
            data=json.dumps({"text": text, **extra}, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def start(self, timeout: float = 300, *, seed: bool = True) -> None:
        """Seed the demo (unless ``seed`` is False), train (if needed), then ``bot up`` and wait for
        a healthy gateway."""
        if seed:
            seeded = self.bot("seed", "--demo")
            if seeded.returncode != 0:
                raise RuntimeError(f"seed failed: {seeded.stderr}")
        train(load_config(env=self.env))
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [BOT, "up"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot up exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"stack not healthy in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def children(self) -> list[int]:
        """Pids of the processes ``bot up`` started."""
        if self.proc is None:
            return []
        return [pid for pid, fields in proc_stats() if int(fields[1]) == self.proc.pid]

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal ``bot up`` and wait for it to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def operator_health(base_url: str) -> urllib.request.Request:
    """``GET /healthz`` with the demo admin token: the full report (anonymous callers get the status)."""
    return urllib.request.Request(f"{base_url}/healthz", headers={"Authorization": "Bearer demo-admin"})


def make_stack(var_dir: Path, env: Mapping[str, str] | None = None) -> RunningStack:
    """A stack description with free ports and a SQLite database under ``var_dir``.

    ``env`` overrides the defaults, e.g. ``BOT_*`` variables of the production profile
    (see ``tests/scale_kit.py``). Demo mode is on unless ``env`` sets ``BOT_DEMO=false`` (then
    ``start(seed=False)``: a real tenant is onboarded instead). The demo partner simulator is off
    unless ``env`` sets ``BOT_PARTNER_SIM=true`` (with its own ``BOT_PARTNER_SIM_PORT``).
    """
    port = free_port()
    full_env = dict(
        os.environ,
        BOT_VAR_DIR=str(var_dir),
        BOT_DATABASE_URL=f"sqlite:///{var_dir / 'bot.db'}",
        BOT_PORT=str(port),
        BOT_RASA_PORT=str(free_port()),
        BOT_ACTIONS_PORT=str(free_port()),
        BOT_DEMO="true",
        BOT_PARTNER_SIM="false",
    )
    full_env.update(env or {})
    return RunningStack(var_dir, full_env, port)


def alive(pid: int) -> bool:
    """True while a process exists (and is not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the given processes, in MB."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024
