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
        '[speech]\nvad_engine = "rnnoise"\n',
        "[speech]\nvad_silero_threshold = 1.5\n",
        "[speech]\ntrailing_silence_ms = 10\n",
        "speech = 3\n",
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, table: str) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(table)
    with pytest.raises(ConfigError):
        SpeechSettings.from_config(load_config(file=path, env={}))


def test_the_latency_work_can_be_switched_off_setting_by_setting(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(
        '[speech]\nvad_engine = "webrtc"\nearly_final = false\nspeculative_nlu = false\nspeak_ahead = false\n'
    )
    settings = SpeechSettings.from_config(load_config(file=path, env={}))
    assert (settings.vad().engine, settings.vad().early_final) == ("webrtc", False)
    assert not settings.speculative_nlu and not settings.speak_ahead
    defaults = SpeechSettings()
    assert defaults.vad().engine == "silero" and defaults.vad().early_final
    assert defaults.speculative_nlu and defaults.speak_ahead
