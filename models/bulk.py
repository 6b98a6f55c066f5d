"""Set-based helpers for bulk imports: TEMP staging tables, COPY / executemany loading, portable SQL, ANALYZE."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    Subquery,
    Table,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

_staging = MetaData()

# A date bound by `load` on SQLite is stored as ISO text, as SQLAlchemy stores dates: the adapter Python's sqlite3
# has by default (deprecated since 3.12), registered explicitly; it is applied in C (a per-row conversion in
# Python cost ~1.5 s per million rows). Looked up by exact type: datetime values are not affected.
sqlite3.register_adapter(date, date.isoformat)  # what `load` binds on SQLite


def is_postgresql(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def staging_table(session: Session, name: str, *columns: Column[Any]) -> Table:
    """A fresh TEMP table private to this session's connection (dropped first if a failed run left one)."""
    if name in _staging.tables:
        _staging.remove(_staging.tables[name])
    table = Table(name, _staging, *columns, prefixes=["TEMPORARY"])
    conn = session.connection()
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {'' if is_postgresql(session) else 'temp.'}{name}")
    table.create(conn)
    return table


# SQLite's default page cache is 2 MB: a million-row INSERT into indexed tables then rereads index pages from the
# OS for every row. An import raises it for its own connection and puts it back afterwards.
_SQLITE_IMPORT_CACHE_KIB = 262_144


@contextmanager
def bulk_settings(session: Session) -> Iterator[None]:
    """Session settings for a bulk import: a large page cache (SQLite, main and TEMP), work_mem (PG)."""
    conn = session.connection()
    if is_postgresql(session):
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
    temp = conn.exec_driver_sql("PRAGMA temp.cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA main.cache_size = -{_SQLITE_IMPORT_CACHE_KIB}")
    conn.exec_driver_sql(f"PRAGMA temp.cache_size = -{_SQLITE_IMPORT_CACHE_KIB // 2}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA main.cache_size = {int(cache or -2000)}")
        conn.exec_driver_sql(f"PRAGMA temp.cache_size = {int(temp or -2000)}")


def drop_staging(session: Session, *tables: Table) -> None:
    """Drop staging tables at the end of an import (same transaction)."""
    for table in tables:
        table.drop(session.connection())


def load(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Bulk-load rows: COPY on PostgreSQL, one executemany on SQLite (dates as ISO text, as SQLAlchemy stores them)."""
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    names = ", ".join(columns)
    if is_postgresql(session):
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cur = dbapi.cursor()
    try:
        cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)  # type: ignore[arg-type]
    finally:
        cur.close()


def analyze(session: Session, *tables: str) -> None:
    """Refresh planner statistics after a bulk load (SQLite samples a bounded number of rows per index)."""
    conn = session.connection()
    if not is_postgresql(session):
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    for name in tables:
        conn.exec_driver_sql(f"ANALYZE {name}")


def json_object(session: Session, **values: Any) -> ColumnElement[Any]:
    """A JSON object built in SQL (json_object on SQLite, json_build_object on PostgreSQL)."""
    fn = func.json_build_object if is_postgresql(session) else func.json_object
    args: list[Any] = []
    for key, value in values.items():
        args += [literal_column(f"'{key}'"), value]
    return fn(*args)


def json_array_agg(session: Session, value: ColumnElement[Any], *, order_by: Any) -> ColumnElement[Any]:
    """The aggregate JSON array of `value` (json_agg … ORDER BY; SQLite's json_group_array follows the index order).

    An empty group gives NULL on PostgreSQL.
    """
    if is_postgresql(session):
        return func.json_agg(aggregate_order_by(value, order_by))
    return func.json_group_array(func.json(value))


def first_per_group(session: Session, query: Select[Any], *, key: Any, order_by: Sequence[Any]) -> Subquery:
    """The first row by `order_by` of each `key` group of `query`, with the query's columns, as a subquery.

    PostgreSQL: DISTINCT ON, estimated at one row per group; `row_number() … = 1` is estimated at 0.5 % of the
    rows, which planned a million-row import's next join as a million index probes (8 s instead of 5 s).
    """
    if is_postgresql(session):
        return query.ext(distinct_on(key)).order_by(key, *order_by).subquery()
    rank = func.row_number().over(partition_by=key, order_by=order_by).label("first_per_group_rank")
    ranked = query.add_columns(rank).subquery()
    return select(*(c for c in ranked.c if c.name != rank.name)).where(ranked.c[rank.name] == 1).subquery()


def embed_json(session: Session, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON value from a subquery, nested as JSON (not as a string) inside json_object on SQLite."""
    return value if is_postgresql(session) else func.json(value)


def as_text(value: ColumnElement[Any], type_: TypeEngine[Any]) -> ColumnElement[Any]:
    """CAST to the given string type (audit target ids are text)."""
    return cast(value, type_)


def add_days(session: Session, day: Any, days: int) -> ColumnElement[Any]:
    """A date column plus `days` (SQLite's date() modifier, PostgreSQL's date + integer)."""
    if is_postgresql(session):
        return day + literal_column(str(int(days)), Integer)
    return func.date(day, f"{int(days):+d} days")


def year_of(session: Session, day: Any) -> ColumnElement[int]:
    """The calendar year of a date column as an integer."""
    if is_postgresql(session):
        return cast(func.extract("year", day), Integer)
    return cast(func.strftime("%Y", day), Integer)
