"""Shared fixtures: an in-memory database with every table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.db import make_engine
from bot.store.tables import metadata


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
