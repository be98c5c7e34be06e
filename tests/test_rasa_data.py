"""The Rasa project is consistent: ``rasa data validate`` in the engine environment passes."""

from __future__ import annotations

import subprocess

import pytest

from bot.config import load_config
from bot.rasa.training import engine_env, rasa_executable

pytestmark = pytest.mark.stack


def test_rasa_data_validate_is_clean() -> None:
    config = load_config()
    result = subprocess.run(
        [str(rasa_executable(config)), "data", "validate", "--fail-on-warnings"],
        cwd=config.project_dir,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
