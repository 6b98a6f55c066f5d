"""Engine and session factory for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


def make_engine(url: str, *, sqlite_immediate: bool = True, busy_timeout: float | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and (by default) BEGIN IMMEDIATE.

    busy_timeout: seconds a statement waits for another writer's lock before "database is locked"
    (SQLite; default 30) or lock_not_available (PostgreSQL lock_timeout; default none).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        wait = 30.0 if busy_timeout is None else busy_timeout
        connect_args = {"timeout": wait, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN IMMEDIATE below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers queue on the lock up front instead of failing on upgrade (SQLITE_BUSY).
            conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if busy_timeout is not None:
        kwargs.setdefault("connect_args", {})["options"] = f"-c lock_timeout={int(busy_timeout * 1000)}"
    return create_engine(url, **kwargs)


def readiness_probe(url: str, *, timeout: float) -> Callable[[], str]:
    """A check opening a fresh connection each call (never the pool's) that reads the schema version.

    Returns "up", "busy" (locked or slower than `timeout`) or "down" (missing, replaced by something else,
    unreachable). A missing SQLite file is never created by it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_probe(parsed.database or ":memory:", timeout)
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": max(1, int(timeout)),
            "options": f"-c statement_timeout={int(timeout * 1000)}",
        },
    )

    def pg_probe() -> str:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT version_num FROM alembic_version"))
        except OperationalError as exc:
            return "busy" if getattr(exc.orig, "sqlstate", None) in ("57014", "55P03") else "down"
        except DBAPIError:
            return "down"
        return "up"

    return pg_probe


def _sqlite_probe(path: str, timeout: float) -> Callable[[], str]:
    def probe() -> str:
        if path != ":memory:" and not Path(path).is_file():
            return "down"
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
            try:
                conn.execute("SELECT version_num FROM alembic_version").fetchone()
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            return "busy" if "locked" in str(exc) else "down"
        except sqlite3.Error:
            return "down"
        return "up"

    return probe


def dialect_insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's dialect (SQLite or PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def analyze(session: Session, table: str) -> None:
    """Refresh the planner's statistics of one table after a bulk load (SQLite: sampled, quick)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {table}"))
        return
    session.execute(text("PRAGMA analysis_limit=2000"))
    session.execute(text(f"ANALYZE {table}"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error (jobs and CLI use this)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        if getattr(exc, "keep_changes", False):
            session.commit()
        else:
            session.rollback()
        raise
    finally:
        session.close()
