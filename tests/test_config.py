from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError


def test_layers_apply_in_order_defaults_file_env_cli(tmp_path: Path) -> None:
    file = tmp_path / "bot.toml"
    file.write_text("port = 9000\nrasa_port = 6000\nsession_idle_minutes = 5\n")
    config = load_config(
        file=file,
        env={"BOT_RASA_PORT": "6001", "DATABASE_URL": "postgresql://h/db"},
        overrides={"session_idle_minutes": 7},
    )
    assert (config.port, config.rasa_port, config.session_idle_minutes) == (9000, 6001, 7)
    assert config.db_url == "postgresql://h/db"
    assert config.actions_port == 5055


def test_default_database_is_embedded_sqlite_under_var(tmp_path: Path) -> None:
    config = load_config(env={"BOT_VAR_DIR": str(tmp_path)})
    assert config.db_url == f"sqlite:///{tmp_path / 'bot.db'}"


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="rasa_port"):
        load_config(env={"BOT_RASA_PORT": "five"})


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(file=bad, env={})
