"""Speech settings come from the ``[speech]`` table of the config file, then the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.speech.settings import SpeechSettings


def test_file_then_command_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text('[speech]\nmodel = "vosk-model-cn-0.22"\ntrailing_silence_ms = 450\nvoice = "cmn"\n')
    config = load_config(file=path, env={})
    settings = SpeechSettings.from_config(config)
    assert (settings.model, settings.trailing_silence_ms) == ("vosk-model-cn-0.22", 450)
    assert settings.vad().trailing_silence_ms == 450
    overridden = SpeechSettings.from_config(config, trailing_silence_ms=900, model=None)
    assert (overridden.model, overridden.trailing_silence_ms) == ("vosk-model-cn-0.22", 900)
    assert SpeechSettings.from_config(load_config(env={})) == SpeechSettings()


@pytest.mark.parametrize(
    "table",
    [
        "[speech]\nunknown = 1\n",
        "[speech]\nvad_aggressiveness = 7\n",
        "[speech]\ntrailing_silence_ms = 10\n",
        "speech = 3\n",
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, table: str) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(table)
    with pytest.raises(ConfigError):
        SpeechSettings.from_config(load_config(file=path, env={}))
