"""Running code in the engine environment (Rasa 3.6 on Python 3.10) from the app environment's tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.rasa.training import engine_env, train


def run_engine(script: str, *args: str, stdin: str | None = None, timeout: float = 300) -> dict[str, Any]:
    """Run ``script`` with the engine's Python in the project folder; its last line of output, as JSON."""
    config = load_config()
    result = subprocess.run(
        [str(config.engine_venv / "bin" / "python"), "-c", script, *args],
        input=stdin,
        cwd=config.project_dir,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def trained_model() -> Path:
    """The skill's trained model (trained first when it is missing or stale, as a stack's start does)."""
    return train(load_config())[0]
