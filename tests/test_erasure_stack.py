"""「删除我的数据」 through the real stack: Rasa's tracker store, every table and the database file."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.conversation.rasa_auth import rasa_headers
from bot.testing import harness

TOKEN = "erasure-test-rasa-token"
SPOKEN = "我家保险柜密码是紫色长颈鹿七号"
SPOKEN_AGAIN = "我家门禁密码是橙色海豚三号"
PANEL = {"Authorization": "Bearer demo-zhang-panel", "Content-Type": "application/json"}


def tracker_text(stack: harness.RunningStack, sender: str) -> str:
    url = f"http://127.0.0.1:{stack.env['BOT_RASA_PORT']}/conversations/{sender}/tracker"
    with urllib.request.urlopen(urllib.request.Request(url, headers=rasa_headers(TOKEN)), timeout=30) as resp:
        return json.dumps(json.loads(resp.read()), ensure_ascii=False)


def senders(db: Path, device_token_household: str = "张") -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT c.id FROM conversation c JOIN household h ON h.id = c.household_id WHERE h.name LIKE ?",
            (f"%{device_token_household}%",),
        )
        return [r[0] for r in rows]


def in_tables(db: Path, needle: str) -> list[str]:
    hits = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if any(needle in str(row) for row in conn.execute(f'SELECT * FROM "{table}"')):
                hits.append(table)
    return hits


def in_files(db: Path, needle: str) -> list[str]:
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-journal")) if p.exists()]
    return [p.name for p in files if needle.encode() in p.read_bytes()]


def rasa_status(stack: harness.RunningStack, query: str = "", headers: dict[str, str] | None = None) -> int:
    url = f"http://127.0.0.1:{stack.env['BOT_RASA_PORT']}/status{query}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def delete_my_data(stack: harness.RunningStack) -> dict[str, object]:
    req = urllib.request.Request(f"{stack.url}/api/v1/me/data", method="DELETE", headers=PANEL)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


@pytest.mark.stack
def test_erasure_reaches_rasa_trackers_every_table_and_the_file(tmp_path: Path) -> None:
    stack = harness.make_stack(tmp_path / "var", {"BOT_RASA_TOKEN": TOKEN})
    db = tmp_path / "var" / "bot.db"
    stack.start()
    try:
        # 0. Rasa's API takes its secret only as a JWT in a header, never in the address
        assert rasa_status(stack, headers=rasa_headers(TOKEN)) == 200
        assert rasa_status(stack, f"?token={TOKEN}") == 401
        assert rasa_status(stack, headers=rasa_headers("not-" + TOKEN)) == 401

        # 1. through the API (the panel's 「删除我的数据」)
        status, _ = stack.converse("demo-zhang-speaker", SPOKEN, turn_id="marker-1")
        assert status == 200
        spoken_in = senders(db)
        assert spoken_in and any(SPOKEN in tracker_text(stack, s) for s in spoken_in), "Rasa has it"
        body = delete_my_data(stack)
        assert body["trackers_erased"] == len(spoken_in)
        assert not any(SPOKEN in tracker_text(stack, s) for s in spoken_in)
        assert in_tables(db, SPOKEN) == [] and in_files(db, SPOKEN) == []

        # 2. by voice: a bare 「嗯」 does not erase, 「确认删除」 does, Rasa's tracker included
        assert stack.converse("demo-zhang-speaker", SPOKEN_AGAIN, turn_id="marker-2")[0] == 200
        spoken_in = senders(db)
        stack.converse("demo-zhang-speaker", "删除我的数据")
        _, said = stack.converse("demo-zhang-speaker", "嗯")
        assert "确认删除" in said["replies"][0]["text"], said
        assert any(SPOKEN_AGAIN in tracker_text(stack, s) for s in spoken_in), "nothing erased yet"
        _, said = stack.converse("demo-zhang-speaker", "确认删除")
        cards = [r["card"]["type"] for r in said["replies"] if r.get("card")]
        assert cards == ["data_erased"], said
        assert not any(SPOKEN_AGAIN in tracker_text(stack, s) for s in spoken_in)
        assert in_tables(db, SPOKEN_AGAIN) == [] and in_files(db, SPOKEN_AGAIN) == []
        status, after = stack.converse("demo-zhang-speaker", "你好")
        assert status == 200 and after["replies"], "the household is still served"
    finally:
        stack.stop()
