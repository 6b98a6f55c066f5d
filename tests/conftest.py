"""Shared fixtures: a migrated database (SQLite or PostgreSQL), emptied after every test, and an app client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import models
from api.app import create_app
from core.clock import get_now
from core.settings import Settings
from faces import search_index
from models.engine import make_engine, make_session_factory
from models.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent


def _database_url(tmp_root: Path) -> str:
    return os.environ.get("PENSION_CERT_TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run (on PostgreSQL, a new database per run, dropped after)."""
    url = _database_url(tmp_path_factory.mktemp("db"))
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    if admin.dialect.name != "postgresql":
        admin.dispose()
        upgrade(url)
        yield url
        return
    parsed = make_url(url)
    name = f"{parsed.database}_run_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    run_url = parsed.set(database=name).render_as_string(hide_password=False)
    upgrade(run_url)
    yield run_url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine shared by tests."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _wipe(engine: Engine) -> None:
    search_index.reset()  # the per-process 1:N index must not outlive the rows it was loaded from
    tables = [t.name for t in reversed(models.Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database; every table is emptied after the test."""
    yield make_session_factory(engine)
    _wipe(engine)


@pytest.fixture(scope="session")
def reader_engine(database_url: str) -> Iterator[Engine]:
    """An engine whose SQLite transactions begin deferred, so a test's open read never blocks the app."""
    eng = make_engine(database_url, sqlite_immediate=False)
    yield eng
    eng.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session], reader_engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking data (commit to make rows visible to the app)."""
    with make_session_factory(reader_engine)() as s:
        yield s


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for the app under test."""
    return Settings(database_url=database_url, environment="development", face_workers=-1, face_index_preload=False)


class Clock:
    """A settable clock for the app under test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The fixed clock (10:00 Beijing time, 1 May 2026 unless moved)."""
    return Clock()


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], clock: Clock):  # type: ignore[no-untyped-def]
    """The FastAPI app on the test database with a fixed clock."""
    application = create_app(settings)
    application.dependency_overrides[get_now] = clock
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app."""
    with TestClient(app) as c:
        yield c


def faces_dir() -> Path | None:
    """The shared real-face folder, if this machine has it."""
    path = Path(os.environ.get("PENSION_CERT_TEST_FACES", REPO.parent / "shared" / "faces"))
    return path if path.is_dir() else None


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    """Whether the suite runs on PostgreSQL."""
    return engine.dialect.name == "postgresql"


def make_session_factory_for(url: str) -> sessionmaker[Session]:
    """A factory on another engine (for tests that open their own connections)."""
    return make_session_factory(make_engine(url))
