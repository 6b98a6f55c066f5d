"""Alembic environment: the URL comes from the caller or from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import models
from core.settings import get_settings
from models.engine import make_engine

target_metadata = models.Base.metadata


# Tables other libraries own in the same database (APScheduler's job store creates its own).
FOREIGN_TABLES = {"apscheduler_job"}


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave tables owned by other libraries out of autogenerate."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection (given by the caller, or opened from the URL)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `pension-cert db upgrade`")
run_migrations_online()
