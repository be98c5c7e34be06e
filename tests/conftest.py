"""Shared fixtures. Each database fixture has its own name for what it holds:

- ``engine`` / ``session``: an empty in-memory database with every table (unit tests);
- ``schema_db``: an empty SQLite *file* with every table (code that writes from worker threads);
- ``demo_db``: a private copy of the demo seed with three days of readings (gateway tests);
- ``actions_db``: a private copy of the demo seed with a year of readings, which the Rasa actions
  under test use (``actions.runtime.engine`` points at it);
- ``shared_stack``: one real stack (Rasa, action server, gateway) for the modules that only read and
  do not depend on where a device's conversation stands.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.seed.demo import seed_demo
from bot.store.db import make_engine, utcnow
from bot.store.tables import metadata
from bot.testing.harness import RunningStack, make_stack


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A fresh in-memory SQLite database with the full schema."""
    eng = make_engine("sqlite://")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the in-memory database."""
    with Session(engine, expire_on_commit=False) as sess:
        yield sess


@pytest.fixture
def schema_db(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with every table and no rows."""
    eng = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def seeded_file(path: Path, days: int) -> Path:
    """A demo-seeded SQLite file (tests copy it: seeding a year of readings takes seconds)."""
    eng = make_engine(f"sqlite:///{path}")
    metadata.create_all(eng)
    seed_demo(eng, utcnow(), days=days)
    eng.dispose()
    return path


def _copy(seed: Path, folder: Path) -> Engine:
    target = folder / "bot.db"
    shutil.copy(seed, target)
    return make_engine(f"sqlite:///{target}")


@pytest.fixture(scope="session")
def demo_seed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo seed with three days of readings, once per test session."""
    return seeded_file(tmp_path_factory.mktemp("demo-3d") / "seed.db", days=3)


@pytest.fixture(scope="session")
def demo_year_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo seed with a year of readings, once per test session."""
    return seeded_file(tmp_path_factory.mktemp("demo-year") / "seed.db", days=365)


@pytest.fixture
def demo_db(demo_seed_file: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the demo seed (households, devices with tokens, catalog, three days)."""
    eng = _copy(demo_seed_file, tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture
def actions_db(demo_year_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A private copy of the year-long demo seed, used by the Rasa actions under test."""
    import actions.runtime

    eng = _copy(demo_year_file, tmp_path)
    monkeypatch.setattr(actions.runtime, "engine", lambda: eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The real stack, started once for the modules that share it (read-only use only)."""
    running = make_stack(tmp_path_factory.mktemp("shared-stack"))
    running.start()
    yield running
    running.stop()
