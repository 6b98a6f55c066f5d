"""A busy or missing database answers JSON 503 within seconds, and /readyz looks at the database itself (issue 15 item 8)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.app import create_app
from core.errors import DatabaseBusy, DatabaseUnavailable, database_error
from core.settings import Settings
from tests import factories


@contextmanager
def another_writer(engine: Engine, database_url: str) -> Iterator[None]:
    """Another process's writer holding the database (SQLite: BEGIN EXCLUSIVE; PostgreSQL: an exclusive table lock)."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with engine.connect() as pg:
        pg.execute(text("LOCK TABLE pensioner, rate_limit_hit IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            pg.rollback()


def test_requests_on_a_locked_database_get_json_503_database_busy(
    client: TestClient, session, settings: Settings, engine: Engine, database_url: str
) -> None:
    factories.seed_regions(session)
    p = factories.pensioner(session)
    session.commit()
    settings_timeout = settings.db_busy_timeout_seconds
    assert settings_timeout == 5  # the default: a few seconds, not the 30 s a phone gives up before
    with another_writer(engine, database_url):
        start = time.monotonic()
        resp = client.post("/api/v1/auth/otp", json={"national_id": p.national_id})
        elapsed = time.monotonic() - start
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "database_busy" and resp.json()["message"] and resp.json()["message_en"]
    assert int(resp.headers["Retry-After"]) >= 1
    assert elapsed < settings_timeout + 3, elapsed
    assert client.post("/api/v1/auth/otp", json={"national_id": p.national_id}).status_code == 202  # lock gone


def test_readyz_answers_within_seconds_while_another_writer_holds_the_database(
    client: TestClient, engine: Engine, database_url: str
) -> None:
    with another_writer(engine, database_url):
        start = time.monotonic()
        resp = client.get("/readyz")
        elapsed = time.monotonic() - start
    assert elapsed < 3.5, elapsed
    assert resp.headers["content-type"].startswith("application/json") and "database" in resp.json()


@pytest.fixture
def own_sqlite(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    """A private copy of the migrated SQLite test database."""
    if engine.dialect.name != "sqlite":
        pytest.skip("replacing the database file is a SQLite matter")
    path = tmp_path / "own.sqlite3"
    src = sqlite3.connect(str(make_url(database_url).database))
    dst = sqlite3.connect(str(path))
    src.backup(dst)
    src.close()
    dst.close()
    return path


def test_readyz_sees_a_replaced_or_missing_database_file_every_time(own_sqlite: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{own_sqlite}", face_workers=-1))
    with TestClient(app) as c:
        for _ in range(3):  # fill the pool with connections on the good file
            assert c.get("/readyz").json() == {"status": "ok", "database": "up"}
        junk = own_sqlite.with_name("junk.sqlite3")
        junk.write_bytes(b"not a database" * 100)
        shutil.move(junk, own_sqlite)  # the file is replaced under the running service
        answers = [c.get("/readyz") for _ in range(6)]
        assert [r.status_code for r in answers] == [503] * 6
        own_sqlite.unlink()
        assert [c.get("/readyz").status_code for _ in range(3)] == [503] * 3
        assert not own_sqlite.exists()  # the probe never creates an empty database
    app.state.engine.dispose()


def test_database_errors_map_to_busy_or_unavailable() -> None:
    import psycopg

    def op(orig: Exception) -> OperationalError:
        return OperationalError("SELECT 1", {}, orig)

    assert isinstance(database_error(op(sqlite3.OperationalError("database is locked"))), DatabaseBusy)
    assert isinstance(database_error(op(psycopg.errors.LockNotAvailable("lock timeout"))), DatabaseBusy)
    assert isinstance(database_error(op(psycopg.errors.QueryCanceled("statement timeout"))), DatabaseBusy)
    assert isinstance(database_error(op(psycopg.errors.DeadlockDetected("deadlock"))), DatabaseBusy)
    assert isinstance(database_error(PoolTimeout("QueuePool limit reached")), DatabaseBusy)
    assert isinstance(database_error(op(sqlite3.OperationalError("unable to open database file"))), DatabaseUnavailable)
    assert database_error(ValueError("x")) is None
    busy = DatabaseBusy()
    assert busy.status_code == 503 and busy.code == "database_busy" and busy.headers == {"Retry-After": "2"}


def test_an_unexpected_error_is_a_json_500(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/boom")
    assert resp.status_code == 500 and resp.json()["code"] == "internal_error" and resp.json()["message_en"]
    app.state.engine.dispose()
