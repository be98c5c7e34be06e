"""Progress where people wait, besides ``bot train``: model downloads, catalog and telemetry imports,
the demo seed and the points accrual report stage and fraction; the CLI draws a bar with elapsed
time on a terminal and plain lines otherwise (on standard error; standard output keeps the result)."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as query

from bot.finance.catalog_io import STAGE as CATALOG_STAGE
from bot.finance.catalog_io import import_catalog
from bot.household.accrual import STAGE as ACCRUAL_STAGE
from bot.household.accrual import accrue_month
from bot.progress import Counter, Progress
from bot.seed.demo import STAGE as SEED_STAGE
from bot.seed.demo import seed_demo
from bot.seed.tenants import packaged_catalog
from bot.speech import registry as sm
from bot.store.db import make_engine, utcnow
from bot.store.models import Device, Household
from bot.store.tables import metadata
from bot.telemetry.ingest import PARSE_STAGE, STORE_STAGE, import_payload
from tests.test_speech_models import TINY, served, spec_for, zip_of

__all__ = ["served"]  # the local HTTP server fixture of the download tests

BOT = str(Path(sys.executable).parent / "bot")
CATALOG = Path(__file__).resolve().parents[1] / "bot" / "seed" / "data" / "demo_catalog.json"


def grows_to_one(events: list[Progress]) -> bool:
    fractions = [e.fraction for e in events]
    return fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_counter_reports_a_bounded_number_of_steps_ending_at_its_span() -> None:
    events: list[Progress] = []
    counter = Counter(events.append, "写入", 10_000, span=(0.2, 1.0), steps=50)
    counter.start()
    for _ in range(10_000):
        counter.step()
    assert 50 <= len(events) <= 52 and grows_to_one(events)
    assert events[0] == Progress("写入", 0.2, "0/10000") and events[-1].detail == "10000/10000"


def test_a_download_reports_fetch_check_and_unpack(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, root = served
    data = zip_of({**TINY, **{f"graph/part{i}": bytes(1000) for i in range(30)}})
    (root / "tiny.zip").write_bytes(data)
    spec = spec_for("vosk-model-tiny", f"{base}/tiny.zip", hashlib.sha256(data).hexdigest())
    events: list[Progress] = []
    sm.download(spec, tmp_path / "models", report=events.append)
    stages = [e.stage for e in events]
    assert stages.index(sm.FETCH) < stages.index(sm.CHECK) < stages.index(sm.UNPACK)
    assert grows_to_one(events)
    fetched = [e for e in events if e.stage == sm.FETCH]
    assert fetched[-1].fraction == 0.8, "the whole archive (Content-Length) is the fetch stage's end"


def test_a_catalog_import_reports_its_rows(demo_db: Engine) -> None:
    catalog = packaged_catalog("demo")
    rows = sum(len(v) for v in catalog.values())
    events: list[Progress] = []
    with Session(demo_db) as session:
        import_catalog(session, "demo", catalog, events.append)
    assert {e.stage for e in events} == {CATALOG_STAGE} and grows_to_one(events)
    assert events[-1].detail == f"{rows}/{rows}"


def test_a_telemetry_import_reports_parsing_then_readings(demo_db: Engine) -> None:
    with Session(demo_db) as session:
        device = session.exec(query(Device.id)).first()
    lines = [f"{device},2025-07-{day:02d} {hour:02d}:00,60,5" for day in (1, 2) for hour in range(24)]
    payload = "device_id,interval_start,minutes,energy_wh\n" + "\n".join(lines) + "\n"
    events: list[Progress] = []
    with Session(demo_db) as session:
        report = import_payload(session, "interval_wh", payload, report=events.append)
    assert report.stored == 48
    assert events[0].stage == PARSE_STAGE and events[-1] == Progress(STORE_STAGE, 1.0, "48/48")
    assert grows_to_one(events)


def test_the_demo_seed_and_the_points_accrual_report_their_work(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'seed.db'}")
    metadata.create_all(engine)
    seeded: list[Progress] = []
    seed_demo(engine, utcnow(), days=2, report=seeded.append)
    with Session(engine) as session:
        devices = len(session.exec(query(Device.id).join(Household)).all())
    assert {e.stage for e in seeded} == {SEED_STAGE} and grows_to_one(seeded)
    assert seeded[-1].detail == f"{devices}/{devices}"
    accrued: list[Progress] = []
    with Session(engine) as session:
        accrue_month(session, date(2020, 1, 1), utcnow(), accrued.append)
    assert {e.stage for e in accrued} == {ACCRUAL_STAGE} and grows_to_one(accrued)
    engine.dispose()


def _env(tmp_path: Path, seed: Path) -> dict[str, str]:
    shutil.copy(seed, tmp_path / "bot.db")
    return dict(os.environ, BOT_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", BOT_VAR_DIR=str(tmp_path))


def test_without_a_terminal_a_command_prints_plain_lines(tmp_path: Path, demo_seed_file: Path) -> None:
    result = subprocess.run(
        [BOT, "catalog", "import", str(CATALOG), "--tenant", "demo"],
        env=_env(tmp_path, demo_seed_file),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported "), "the result stays on standard output"
    lines = result.stderr.splitlines()
    assert lines[0].startswith("[0:00] 导入目录 0%") and "\r" not in result.stderr
    assert lines[-1].startswith("[0:") and "导入目录 100%" in lines[-1], lines


def test_on_a_terminal_a_command_draws_one_bar(tmp_path: Path, demo_seed_file: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [BOT, "catalog", "import", str(CATALOG), "--tenant", "demo"],
        env=_env(tmp_path, demo_seed_file),
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command ended: the terminal is closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = screen.decode()
    assert text.startswith("\r\x1b[K导入目录") and "█" in text and "100%  0:0" in text, text
    assert text.count("\n") == 1 and text.endswith("\n"), "one line, redrawn in place, ended once"
