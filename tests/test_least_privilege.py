"""``deploy/least_privilege.sh``: the production profile's users are neither superuser nor admin,
and still run the application (migrations as the app role, Rasa's queue as the broker user)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest

from bot.store.db import migrate
from tests.scale_kit import require_services, unique_name

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "least_privilege.sh"


def _superuser(sql: str, db: str = "postgres") -> None:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=False, capture_output=True, timeout=60)


@pytest.mark.scale
def test_least_privilege_users_run_the_app_and_can_do_nothing_else() -> None:
    require_services("postgresql", "rabbitmq")
    tag = unique_name("lp")
    names = {
        "BOT_DB_APP_USER": f"{tag}_app",
        "BOT_DB_RASA_USER": f"{tag}_rasa",
        "BOT_DB_NAME": f"{tag}_bot",
        "BOT_DB_TRACKER": f"{tag}_tracker",
        "BOT_MQ_USER": f"{tag}_mq",
        "BOT_MQ_VHOST": f"{tag}_vhost",
    }
    password = secrets.token_hex(12)
    env = {**os.environ, **names, "BOT_DB_PASSWORD": password, "BOT_MQ_PASSWORD": password}
    try:
        done = subprocess.run(
            [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == 0, done.stderr
        app = f"postgresql://{names['BOT_DB_APP_USER']}:{password}@127.0.0.1:5432/{names['BOT_DB_NAME']}"
        with psycopg.connect(app) as conn:
            row = conn.execute(
                "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            assert row == (False, False)
        migrate(app.replace("postgresql://", "postgresql+psycopg://"))  # the app role owns its schema
        with (
            psycopg.connect(app, autocommit=True) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("CREATE DATABASE lp_should_not_exist")
        other = f"postgresql://{names['BOT_DB_APP_USER']}:{password}@127.0.0.1:5432/{names['BOT_DB_TRACKER']}"
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(other).close()  # no CONNECT on the tracker database
        asyncio.run(_broker_rights(names["BOT_MQ_USER"], password, names["BOT_MQ_VHOST"]))
    finally:
        for db in (names["BOT_DB_NAME"], names["BOT_DB_TRACKER"]):
            _superuser(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (names["BOT_DB_APP_USER"], names["BOT_DB_RASA_USER"]):
            _superuser(f'DROP ROLE IF EXISTS "{role}"')
        _ctl("delete_vhost", names["BOT_MQ_VHOST"])
        _ctl("delete_user", names["BOT_MQ_USER"])


async def _broker_rights(user: str, password: str, vhost: str) -> None:
    import aio_pika
    from aiormq.exceptions import ChannelAccessRefused

    connection = await aio_pika.connect(f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}")
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("bot_events", durable=True)
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key="bot_events")
        assert await queue.get(timeout=5, fail=False) is not None
        other = await connection.channel()
        with pytest.raises(ChannelAccessRefused):
            await other.declare_queue("someone_elses_queue")
    finally:
        await connection.close()
