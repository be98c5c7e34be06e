"""Engine factory, sessions and schema migrations (Alembic). Nothing here runs at import."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from bot.errors import StoreError

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def utcnow() -> datetime:
    """Current time as the aware UTC datetime the tables store."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout (several processes write)."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        memory = path in ("", ":memory:")
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success, rolls back on error and wraps DB failures in StoreError."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except SQLAlchemyError as err:
        session.rollback()
        raise StoreError("数据库暂时不可用") from err
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def in_session(db_url: str, work: Callable[[Session], T]) -> T:
    """``work`` in one session of a short-lived engine (CLI commands); a StoreError names the
    database (without its password) and the likely fix."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            return work(session)
    except StoreError as err:
        where = make_url(db_url).render_as_string(hide_password=True)
        raise StoreError(f"{err.message} ({where}; is the schema there? run `bot db upgrade`)") from err
    finally:
        engine.dispose()


def ping(engine: Engine) -> None:
    """Raise StoreError unless the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        raise StoreError("数据库暂时不可用") from err


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` to ``revision`` with Alembic."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(url), revision)


def new_revision(message: str) -> None:
    """Autogenerate a migration: the difference between the tables and a scratch database at head."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'head.db'}"
        migrate(url)
        command.revision(_alembic_config(url), message=message, autogenerate=True)
