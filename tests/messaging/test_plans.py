"""Per-person outbox statements are planned on a pensioner-first index with 200,000 pending reminders (both DBs).

Plans are asserted, never timings; before and after ANALYZE (the reminder sweep runs it after a bulk load).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from certification import lifecycle
from models import Notification
from models.engine import analyze

ROWS = 200_000
PENSIONER_FIRST = ("ix_notification_pensioner_id_status", "uq_notification_pensioner_id_season_year_kind_recipient")

_FILL_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :rows)
INSERT INTO notification (pensioner_id, phone, channel, lane, kind, season_year, recipient, deadline_date, status,
                          attempts, next_attempt_at, created_at)
SELECT i / 2 + 1, '13800000000', 'sms', 'bulk', '{kind}', 2026, CASE i % 2 WHEN 0 THEN 'self' ELSE 'family' END,
       '2026-06-30', '{status}', 0, '2026-04-01 01:00:00.000000', '2026-04-01 01:00:00.000000' FROM n
"""
_FILL_PG = """
INSERT INTO notification (pensioner_id, phone, channel, lane, kind, season_year, recipient, deadline_date, status,
                          attempts, next_attempt_at, created_at)
SELECT i / 2 + 1, '13800000000', 'sms', 'bulk', '{kind}', 2026, CASE i % 2 WHEN 0 THEN 'self' ELSE 'family' END,
       DATE '2026-06-30', '{status}', 0, TIMESTAMPTZ '2026-04-01 01:00Z', TIMESTAMPTZ '2026-04-01 01:00Z'
FROM generate_series(0, :rows - 1) AS i
"""


def _plan(session: Session, sql: str, params: Any) -> str:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).all()
        return "\n".join(str(r[0]) for r in rows)
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    return "\n".join(str(r[-1]) for r in rows)


def _captured(engine: Engine, run: Any) -> list[tuple[str, Any]]:
    """The SQL statements `run` executes (with their parameters)."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _assert_pensioner_first(plan: str) -> None:
    assert any(name in plan for name in PENSIONER_FIRST), plan
    assert "Seq Scan" not in plan, plan
    # The status index alone scans every pending (or sent) row; PostgreSQL may AND it with the pensioner's.
    assert "ix_notification_status_lane_next_attempt_at" not in plan or "BitmapAnd" in plan, plan
    assert "SCAN notification" not in plan.replace("SCAN notification USING", ""), plan


@pytest.mark.parametrize("analysed", [False, True])
def test_per_person_statements_start_from_the_pensioner(
    session_factory: sessionmaker[Session], engine: Engine, analysed: bool
) -> None:
    with session_factory.begin() as s:
        fill = _FILL_PG if s.get_bind().dialect.name == "postgresql" else _FILL_SQLITE
        # Realistic: the season's first reminders sent, the next 200,000 pending for the same people.
        s.execute(text(fill.format(kind="reminder_open", status="sent")), {"rows": ROWS})
        s.execute(text(fill.format(kind="reminder_d30", status="pending")), {"rows": ROWS})
        if analysed:
            analyze(s, "notification")  # what the reminder sweep does after a bulk load
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 2 * ROWS
        for season_year in (2026, None):
            stmts = _captured(
                engine,
                lambda: lifecycle.cancel_pending_reminders(session=s, pensioner_id=4242, season_year=season_year),  # noqa: B023
            )
            [(sql, params)] = [x for x in stmts if x[0].lstrip().upper().startswith("UPDATE")]
            _assert_pensioner_first(_plan(s, sql, params))
        s.rollback()
        # The dashboard's person page and the at-risk list's reminder counts.
        for stmt in (
            select(Notification)
            .where(Notification.pensioner_id == 4242)
            .order_by(Notification.created_at.desc())
            .limit(30),
            select(Notification.pensioner_id, func.count())
            .where(
                Notification.pensioner_id.in_([4242, 4243]),
                Notification.season_year == 2026,
                Notification.kind.startswith("reminder"),
                Notification.status == "sent",
            )
            .group_by(Notification.pensioner_id),
        ):
            got = _captured(engine, lambda: s.execute(stmt).all())  # noqa: B023
            [(sql, params)] = [x for x in got if x[0].lstrip().upper().startswith("SELECT")]
            _assert_pensioner_first(_plan(s, sql, params))
        s.rollback()


_PEOPLE_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 <= :people)
INSERT INTO pensioner (id, national_id, name, birth_date, sex, region_code, bedridden, limited_mobility,
                       pension_status, created_at, updated_at)
SELECT i, 'P' || i, 'P', '1950-01-01', 'F', :region, 0, 0, 'active', '2026-04-01 01:00:00.000000',
       '2026-04-01 01:00:00.000000' FROM n
"""
_PEOPLE_PG = """
INSERT INTO pensioner (id, national_id, name, birth_date, sex, region_code, bedridden, limited_mobility,
                       pension_status, created_at, updated_at)
SELECT i, 'P' || i, 'P', DATE '1950-01-01', 'F', :region, false, false, 'active', TIMESTAMPTZ '2026-04-01 01:00Z',
       TIMESTAMPTZ '2026-04-01 01:00Z' FROM generate_series(1, :people) AS i
"""


@pytest.mark.parametrize("analysed", [False, True])
def test_expiring_the_certified_walks_the_pensioner_index_and_probes_the_standing_one(
    session_factory: sessionmaker[Session], engine: Engine, analysed: bool
) -> None:
    """The post-import expiry, one batch (5 % of the ids, as 50,000 of 1M): no scan of the outbox or certifications."""
    from certification import reminders
    from tests import factories

    with session_factory.begin() as s:
        factories.seed_regions(s)
    with session_factory.begin() as s:
        pg = s.get_bind().dialect.name == "postgresql"
        s.execute(text(_PEOPLE_PG if pg else _PEOPLE_SQLITE), {"people": ROWS // 2, "region": factories.HUANCUI})
        s.execute(
            text((_FILL_PG if pg else _FILL_SQLITE).format(kind="reminder_d30", status="pending")), {"rows": ROWS}
        )
        # Half the people certified by an import (a standing certification each), the import left their reminders.
        s.execute(
            text(
                "INSERT INTO certification (pensioner_id, season_year, certified_at, channel) "
                "SELECT id, 2026, :at, 'data_comparison' FROM pensioner WHERE id % 2 = 0"
            ),
            {"at": "2026-04-02 01:00:00.000000" if not pg else "2026-04-02 01:00Z"},
        )
        if pg:
            s.execute(text("SELECT setval(pg_get_serial_sequence('pensioner', 'id'), :n)"), {"n": ROWS // 2})
        if analysed:
            analyze(s, "notification")
            analyze(s, "certification")
    with session_factory() as s:
        stmts = _captured(engine, lambda: reminders.expire_certified(session=s, first_id=40_001, end_id=45_001))
        [(sql, params)] = [x for x in stmts if x[0].lstrip().upper().startswith("UPDATE")]
        # SQLite names the unique constraint's index (pensioner_id, season_year, kind, recipient) its own way.
        plan = _plan(s, sql, params).replace("sqlite_autoindex_notification_1", PENSIONER_FIRST[1])
        _assert_pensioner_first(plan)
        assert "uq_certification_standing" in plan, plan
        assert "SCAN certification" not in plan, plan
        s.rollback()
