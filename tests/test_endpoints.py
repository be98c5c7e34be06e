"""Rasa's endpoints.yml from the configuration, and detection of Rasa running without its stores."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config, config_env, load_config
from bot.conversation.dialogue import Reply
from bot.errors import ConfigError, StackError
from bot.rasa.endpoints import endpoints, event_broker, lock_store, redact, tracker_store, write_endpoints
from bot.rasa.store_checks import RasaLogWatch, TrackerGuardedDialogue, TrackerStoreFallback, fail_on_findings
from tests.fakes import FakeDialogue

PRODUCTION = replace(
    Config(),
    tracker_store_url="postgresql://bot:p%40ss@db.internal:6432/bot_tracker",
    lock_store_url="redis://:r3dis@cache.internal:6380/2",
    lock_key_prefix="bot_prod-1",
    event_broker_url="amqp://app:s3cret@mq.internal:5673/skill",
    event_queue="skill_events",
)


def test_the_embedded_profile_only_points_rasa_at_the_action_server() -> None:
    assert endpoints(Config()) == {"action_endpoint": {"url": "http://127.0.0.1:5055/webhook"}}


def test_sql_tracker_store_from_a_postgresql_url() -> None:
    assert tracker_store(PRODUCTION.tracker_store_url) == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6432,
        "db": "bot_tracker",
        "login_db": "postgres",
        "username": "bot",
        "password": "p@ss",
    }


def test_redis_lock_store_gets_an_alphanumeric_prefix_rasa_accepts() -> None:
    assert lock_store(PRODUCTION.lock_store_url, PRODUCTION.lock_key_prefix) == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6380,
        "db": 2,
        "key_prefix": "botprod1",
        "password": "r3dis",
    }


def test_pika_broker_has_its_own_exchange_and_separate_credentials() -> None:
    broker = event_broker(PRODUCTION.event_broker_url, "skill_events")
    assert broker["url"] == "amqp://mq.internal:5673/skill" and broker["port"] == 5673
    assert (broker["username"], broker["password"]) == ("app", "s3cret")
    assert broker["queues"] == ["skill_events"] and broker["exchange_name"] == "skill_events.exchange"


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("tracker_store_url", "mysql://u@h/db"),
        ("tracker_store_url", "postgresql://u@h"),
        ("lock_store_url", "redis://h/notanumber"),
        ("event_broker_url", "http://h:5672"),
    ],
)
def test_unusable_urls_are_refused_without_echoing_credentials(field: str, url: str) -> None:
    config = replace(Config(), **{field: url.replace("//", "//user:pw@")})
    with pytest.raises(ConfigError, match=field) as err:
        endpoints(config)
    assert "pw" not in err.value.message


def test_written_file_is_private_and_parses(tmp_path: Path) -> None:
    path = write_endpoints(PRODUCTION, tmp_path / "run" / "endpoints.yml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    spec = json.loads(path.read_text())  # JSON is valid YAML
    assert set(spec) == {"action_endpoint", "tracker_store", "lock_store", "event_broker"}


def test_redact_drops_user_and_password() -> None:
    assert redact(PRODUCTION.event_broker_url) == "amqp://mq.internal:5673/skill"
    assert redact(PRODUCTION.lock_store_url) == "redis://cache.internal:6380/2"


def test_production_settings_come_from_env_and_reach_child_processes() -> None:
    env = {
        "BOT_TRACKER_STORE_URL": PRODUCTION.tracker_store_url,
        "BOT_GATEWAY_WORKERS": "3",
        "BOT_ACTION_WORKERS": "2",
    }
    config = load_config(env=env)
    assert (config.gateway_workers, config.action_workers) == (3, 2)
    assert load_config(env=config_env(config)) == config


def test_the_example_production_profile_loads() -> None:
    config = load_config(file=Path(__file__).parent.parent / "deploy" / "production.toml", env={})
    assert config.tracker_store_url.startswith("postgresql://") and config.gateway_workers > 1
    assert set(endpoints(config)) == {"action_endpoint", "tracker_store", "lock_store", "event_broker"}
    assert not config.extra, "every key of the example is a known setting"


# Lines as Rasa 3.6.21 writes them (rasa/core/tracker_store.py, rasa/core/brokers/pika.py).
FALLBACK = (
    "2026-11-26 17:00:01 ERROR    rasa.core.tracker_store  - Error happened when trying to save "
    "conversation tracker to 'SQLTrackerStore'. Falling back to use the 'InMemoryTrackerStore'. "
    "Please investigate the following error: boom."
)
SQL_RETRY = (
    "2026-11-26 17:00:01 WARNING  rasa.core.tracker_store  - (psycopg2.OperationalError) connection "
    'to server at "127.0.0.1", port 1 failed: Connection refused'
)
BROKER = "2026-11-26 ERROR rasa.core.brokers.pika - Connecting to 'amqp://h' failed with error 'x'."


def test_log_watch_reports_only_new_fallback_lines(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    log.write_text(FALLBACK + "\n")
    watch = RasaLogWatch(log)
    assert watch.poll() == [], "lines from before the watch started do not count"
    with log.open("a") as out:
        out.write("INFO Rasa server is up and running.\n" + SQL_RETRY + "\n" + BROKER + "\n" + FALLBACK)
    assert [f.store for f in watch.poll()] == ["tracker_store", "event_broker"]
    with log.open("a") as out:
        out.write("\n")
    assert [f.store for f in watch.poll()] == ["tracker_store"], "a line counts once it is complete"
    assert watch.recent("tracker_store", 60) is not None and watch.recent("lock_store", 60) is None


def test_start_up_refuses_when_rasa_cannot_use_the_tracker_store(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    log.write_text("")
    watch = RasaLogWatch(log)
    log.write_text(SQL_RETRY + "\n")
    with pytest.raises(
        StackError, match=re.escape("tracker store at postgresql://db.internal:6432/bot_tracker")
    ) as err:
        fail_on_findings(PRODUCTION, watch)
    assert "p@ss" not in err.value.message and "p%40ss" not in err.value.message
    assert err.value.code == "tracker_store_unavailable"


def test_findings_about_unconfigured_stores_are_ignored(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    log.write_text("")
    watch = RasaLogWatch(log)
    log.write_text(BROKER + "\n")
    fail_on_findings(replace(PRODUCTION, event_broker_url=""), watch)


class _LoggingDialogue(FakeDialogue):
    """Writes a line to Rasa's log while answering (and lets another reader poll it first)."""

    def __init__(self, log: Path, line: str, other: RasaLogWatch) -> None:
        super().__init__()
        self.log, self.line, self.other = log, line, other

    async def respond(self, sender: str, text: str) -> list[Reply]:
        with self.log.open("a") as out:
            out.write(self.line + "\n")
        self.other.poll()  # e.g. /healthz reading the shared watch in the middle of the turn
        return await super().respond(sender, text)


async def test_a_turn_rasa_answered_from_an_in_memory_tracker_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    log.write_text(FALLBACK + "\n")
    watch = RasaLogWatch(log)
    guarded = TrackerGuardedDialogue(_LoggingDialogue(log, "INFO all fine", watch), watch)
    assert (await guarded.respond("s", "你好"))[0].text == "echo:你好", "old lines do not count"
    guarded = TrackerGuardedDialogue(_LoggingDialogue(log, FALLBACK, watch), watch)
    with pytest.raises(TrackerStoreFallback) as err:
        await guarded.respond("s", "你好")
    assert err.value.status == 503 and "抱歉" in err.value.message
