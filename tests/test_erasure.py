"""「删除我的数据」 leaves nothing of what was said or measured; retention; the export; the table guard."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.conversation.erasure import sweep
from bot.household import erasure
from bot.store.analytics import AnalyticsEvent
from bot.store.db import utcnow
from bot.store.ledger import Application
from bot.store.models import Conversation, Turn
from bot.store.tables import metadata
from tests.fakes import FakeDialogue, RecordingTrackers
from tests.gateway_kit import LI, ZHANG, ZHANG_PANEL, Client, make_client
from tests.test_gateway_rights import household_of, make_offer, readings

MARKER = "我家保险柜密码是紫色长颈鹿七号"
OTHER = "李家的备忘录是蓝色企鹅九号"


@pytest.fixture
def trackers(monkeypatch: pytest.MonkeyPatch) -> RecordingTrackers:
    fake = RecordingTrackers()
    monkeypatch.setattr("bot.gateway.app.make_trackers", lambda *_a, **_k: fake)
    return fake


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine, trackers: RecordingTrackers) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue())


def db_file(engine: Engine) -> Path:
    return Path(str(engine.url.database))


def found_in_tables(engine: Engine, needle: str) -> list[str]:
    """Every table (not only the personal ones) whose rows mention ``needle``."""
    hits = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if any(needle in str(tuple(row)) for row in conn.execute(select(table))):
                hits.append(table.name)
    return hits


def found_in_files(engine: Engine, needle: str) -> list[str]:
    """The database file and its WAL, searched byte for byte."""
    base = db_file(engine)
    files = [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-journal")) if p.exists()]
    return [p.name for p in files if needle.encode() in p.read_bytes()]


def add_analytics_row(engine: Engine, conversation_id: str) -> None:
    with Session(engine) as session:
        session.add(
            AnalyticsEvent(
                event_key=f"k-{conversation_id}",
                kind="turn",
                event="user",
                conversation_id=conversation_id,
                intent="greet",
                confidence=0.9,
                occurred_at=utcnow(),
                recorded_at=utcnow(),
            )
        )
        session.commit()


def conversations_of(engine: Engine, household_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.execute(select(Conversation.id).where(Conversation.household_id == household_id))
        return [str(r) for r in rows.scalars()]


def test_every_table_holding_household_data_declares_how_it_is_erased() -> None:
    """Fails when a table with a household_id/device_id/conversation_id column has no policy:
    add it to ``bot.household.erasure.POLICIES`` or declare ``info={"erasure": ...}`` on it."""
    assert erasure.uncovered() == []
    for table in erasure.personal_tables():
        policy = erasure.policy_of(table)
        assert policy is not None and policy.reason, table.name


def test_the_guard_catches_a_new_table_and_honours_a_declaration() -> None:
    meta = MetaData()
    Table("household", meta, Column("id", Integer, primary_key=True))
    Table(
        "complaint",
        meta,
        Column("id", Integer, primary_key=True),
        Column("household_id", ForeignKey("household.id")),
    )
    Table(
        "subscription",
        meta,
        Column("id", Integer, primary_key=True),
        Column("device_id", Integer),
        Column("note", String),
        info={"erasure": "erase", "reason": "what the household subscribed to"},
    )
    assert erasure.uncovered(meta) == ["complaint"]


async def test_a_marker_sentence_is_gone_from_every_table_the_trackers_and_the_file(
    client: Client, demo_db: Engine, trackers: RecordingTrackers
) -> None:
    zhang, li = household_of(demo_db, ZHANG), household_of(demo_db, LI)
    for headers, words, turn in ((ZHANG, MARKER, "t-zhang-1"), (LI, OTHER, "t-li-1")):
        resp = await client.post("/api/v1/converse", json={"text": words, "turn_id": turn}, headers=headers)
        assert resp.status == 200
    spoken_in = conversations_of(demo_db, zhang)
    add_analytics_row(demo_db, spoken_in[0])
    with demo_db.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    assert found_in_tables(demo_db, MARKER) == ["turn"], "the search can see it"
    assert found_in_files(demo_db, MARKER) == ["bot.db"], "the byte search can see it"

    resp = await client.delete("/api/v1/me/data", headers=ZHANG_PANEL)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["deleted"]["rows"]["turn"] == 1 and body["deleted"]["rows"]["analyticsevent"] == 1
    assert body["trackers_erased"] == 1 and trackers.erased == spoken_in
    assert "consentevent" in body["kept"]

    assert found_in_tables(demo_db, MARKER) == []
    assert found_in_files(demo_db, MARKER) == [], "no copy in free pages or the WAL"
    assert conversations_of(demo_db, zhang) == [] and readings(demo_db, zhang) == 0
    with Session(demo_db) as session:
        assert session.execute(select(AnalyticsEvent)).first() is None
    assert found_in_tables(demo_db, OTHER) == ["turn"], "the other household keeps its data"
    assert conversations_of(demo_db, li) and readings(demo_db, li) > 0

    again = await client.post(
        "/api/v1/converse", json={"text": "你好", "turn_id": "t-zhang-1"}, headers=ZHANG
    )
    assert (await again.json())["replies"][0]["text"] == "echo:你好", "an old turn_id no longer returns it"


async def test_the_export_has_readings_transcripts_applications_points_and_no_secrets(
    client: Client, demo_db: Engine
) -> None:
    make_offer(demo_db, household_of(demo_db, ZHANG))
    await client.post("/api/v1/converse", json={"text": MARKER, "turn_id": "t-1"}, headers=ZHANG)
    resp = await client.get("/api/v1/me/export", headers=ZHANG)
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = await resp.json()
    tables = data["tables"]
    assert {"energyreading", "turn", "application", "pointsentry", "consentevent", "offeraudit"} <= set(
        tables
    )
    assert tables["energyreading"] and tables["application"] and tables["consentevent"]
    assert tables["turn"][0]["outcome"]["replies"][0]["text"] == f"echo:{MARKER}", "transcript, as JSON"
    assert set(tables) == {t.name for t in erasure.personal_tables()}, "every personal table, new ones too"
    assert "token_hash" not in str(data)
    li = await (await client.get("/api/v1/me/export", headers=LI)).json()
    assert MARKER not in str(li) and li["household"]["id"] != data["household"]["id"]


async def test_retention_removes_old_turns_conversations_and_trackers_and_expires_applications(
    client: Client, demo_db: Engine
) -> None:
    zhang = household_of(demo_db, ZHANG)
    offer_id = make_offer(demo_db, zhang)
    await client.post("/api/v1/converse", json={"text": MARKER, "turn_id": "t-old"}, headers=ZHANG)
    old = conversations_of(demo_db, zhang)
    recorder = RecordingTrackers()
    later = utcnow() + timedelta(days=30)  # past the retention and the application's expiry
    turns, convs, expired = await sweep(demo_db, recorder, later, timedelta(hours=24))
    assert (turns, convs, expired) == (1, 1, 1) and recorder.erased == old
    assert found_in_tables(demo_db, MARKER) == [] and found_in_files(demo_db, MARKER) == []
    with Session(demo_db) as session:
        row = session.execute(select(Application).where(Application.offer_id == offer_id)).scalar_one()
        assert row.state == "expired"
    assert await sweep(demo_db, recorder, later, timedelta(hours=24)) == (0, 0, 0)


async def test_the_gateway_runs_the_retention_job(
    aiohttp_client: Any, demo_db: Engine, trackers: Any
) -> None:
    settings = {"sweep_interval_s": 0.05, "turn_retention_hours": 0.0002}  # 0.72 s
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), gateway=settings)
    await client.post("/api/v1/converse", json={"text": MARKER, "turn_id": "t-r"}, headers=ZHANG)
    assert found_in_tables(demo_db, MARKER) == ["turn"]
    for _ in range(400):
        if not found_in_tables(demo_db, MARKER):
            break
        await asyncio.sleep(0.05)
    assert found_in_tables(demo_db, MARKER) == []
    with Session(demo_db) as session:
        assert session.execute(select(Turn)).first() is None
