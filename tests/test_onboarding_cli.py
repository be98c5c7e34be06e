"""``bot tenant create`` / ``token issue|list|revoke``, ``bot seed`` refused with demo off, the demo
token list, removing a household with offer records, and the broker files for Mosquitto."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.admin import onboarding, pairing, tokens
from bot.cli.main import main
from bot.errors import AuthError
from bot.seed.demo import seed_demo
from bot.store.credentials import DEMO_TOKENS, HubSecret, RemovedHousehold, mosquitto_hash
from bot.store.db import make_engine, session_scope, utcnow
from bot.store.ledger import OfferAudit
from bot.store.models import Device, Household
from bot.store.repo import authenticate, hash_token
from bot.telemetry.broker_auth import broker_files

T0 = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    for var in ("BOT_CONFIG", "DATABASE_URL", "BOT_DEMO"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    return url


def test_a_tenant_and_its_tokens_are_made_listed_and_revoked_by_cli(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "create", "acme", "--name", "安可电器", "--assistant-name", "小安"]) == 0
    assert main(["tenant", "create", "acme", "--name", "安可电器", "--assistant-name", "小安"]) == 2
    assert "已存在" in capsys.readouterr().err
    assert main(["tenant", "token", "issue", "--tenant", "acme", "--role", "admin"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    public_id = out.err.split("token id ")[1].split(";")[0]
    engine = make_engine(cli_db)
    with Session(engine) as session:
        assert authenticate(session, token).role == "admin"
    assert main(["tenant", "token", "list", "--tenant", "acme"]) == 0
    listed = capsys.readouterr().out
    assert public_id in listed and token not in listed and "live" in listed
    assert main(["tenant", "token", "revoke", public_id, "--tenant", "acme"]) == 0
    with Session(engine) as session, pytest.raises(AuthError):
        authenticate(session, token)
    with pytest.raises(SystemExit):  # device tokens come from pairing only
        main(["tenant", "token", "issue", "--tenant", "acme", "--role", "device"])
    assert main(["tenant", "token", "issue", "--tenant", "nobody", "--role", "admin"]) == 2
    engine.dispose()


def test_demo_seed_is_refused_with_demo_off_and_runs_with_it_on(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed", "--demo"]) == 2
    err = capsys.readouterr().err
    assert "demo_off" in err and "BOT_DEMO=true" in err and "bot tenant create" in err
    assert not Path(cli_db.removeprefix("sqlite:///")).exists()  # refused before touching the database
    monkeypatch.setenv("BOT_DEMO", "true")
    assert main(["seed", "--demo"]) == 0
    assert "demo-zhang-speaker" in capsys.readouterr().out


def test_every_token_the_demo_seed_creates_is_in_the_demo_token_list(schema_db: Engine) -> None:
    report = seed_demo(schema_db, T0, days=1)
    assert set(report.tokens) <= set(DEMO_TOKENS)
    with session_scope(schema_db) as session:
        assert tokens.live_demo_tokens(session) == sorted(DEMO_TOKENS)
        tokens.revoke_demo_tokens(session, T0)
    with session_scope(schema_db) as session:
        assert tokens.live_demo_tokens(session) == []


def test_removing_a_household_with_offer_records_keeps_them_and_anonymises_it(schema_db: Engine) -> None:
    with session_scope(schema_db) as session:
        tokens.create_tenant(session, "acme", "Acme", "小安", "")
        home = onboarding.create_household(session, "acme", {"name": "赵家"})
        speaker = onboarding.create_device(
            session, "acme", home.id or 0, {"kind": "speaker", "name": "音箱"}, T0
        )
        session.add(
            OfferAudit(
                household_id=home.id or 0,
                session_id="s1",
                kind="upgrade",
                subject="AC-1",
                proactive=False,
                explanation="x",
                text="x",
                created_at=T0,
            )
        )
        home_id, code = home.id or 0, speaker.pairing.code if speaker.pairing else ""
    with session_scope(schema_db) as session:
        outcome = onboarding.remove_household(session, "acme", home_id, T0)
    assert outcome["removed"] == "records_kept"
    with Session(schema_db) as session:
        kept = session.get(Household, home_id)
        assert kept is not None and kept.name == onboarding.REMOVED_NAME
        assert session.get(RemovedHousehold, home_id) is not None
        assert session.exec(select(Device)).all() == []
        assert len(session.exec(select(OfferAudit)).all()) == 1
        assert onboarding.list_households(session, "acme") == []
    with session_scope(schema_db) as session:
        assert isinstance(pairing.exchange(session, code, "ip:x", utcnow()), Exception)


def test_the_broker_hash_is_mosquittos_pbkdf2_format() -> None:
    line = mosquitto_hash("secret", salt=b"0123456789ab")
    _, seven, iterations, salt, digest = line.split("$")
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", base64.b64decode(salt), int(iterations))
    assert (seven, base64.b64decode(digest)) == ("7", expected)


def test_broker_files_list_only_hubs_with_a_live_token_and_confine_them_to_their_topics(
    schema_db: Engine,
) -> None:
    with session_scope(schema_db) as session:
        tokens.create_tenant(session, "acme", "Acme", "小安", "")
        home = onboarding.create_household(session, "acme", {"name": "赵家"})
        hubs = [
            onboarding.create_device(
                session, "acme", home.id or 0, {"kind": "hub", "name": f"网关{n}"}, utcnow()
            )
            for n in (1, 2)
        ]
    now = utcnow()
    with session_scope(schema_db) as session:
        paired = [pairing.exchange(session, h.pairing.code if h.pairing else "", "ip:x", now) for h in hubs]
    assert all(isinstance(p, pairing.Paired) for p in paired)
    first, second = (h.device.id for h in hubs)
    with session_scope(schema_db) as session:
        onboarding.revoke_tokens(session, "acme", second or 0, now)
    with session_scope(schema_db) as session:
        files = broker_files(session, "acme", "ingest", "pw", utcnow())
        assert session.get(HubSecret, first) is not None
    users = [line.split(":")[0] for line in files.passwd.splitlines()]
    assert users == ["ingest", f"hub-{first}"] and files.hubs == 1
    assert "pattern write acme/%u/telemetry/+" in files.acl
    assert "topic read acme/+/telemetry/+" in files.acl
    token = paired[0].token if isinstance(paired[0], pairing.Paired) else ""
    digest = next(line for line in files.passwd.splitlines() if line.startswith(f"hub-{first}:")).split(
        ":", 1
    )[1]
    _, _, iterations, salt, hashed = digest.split("$")
    check = hashlib.pbkdf2_hmac("sha512", token.encode(), base64.b64decode(salt), int(iterations))
    assert base64.b64decode(hashed) == check and hash_token(token) not in files.passwd
