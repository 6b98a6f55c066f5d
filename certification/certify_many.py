"""Certifying many people at once: the rules of `service.record_certification`, as set-based SQL over a plan table.

A plan holds one candidate per person (the evidence that would certify them). Each person is then, exactly as
one `record_certification` call per person would have it: skipped when terminated or on hold, not counted when
the evidence is outside their window (season or rolling), already certified when a standing certification for
the season exists, else certified — the certification quoting the import run (whose one audit event has the counts),
reinstatement through `lifecycle.reinstate_many` (ledger rows, a before/after audit row per person: money), the
rolling due date moved, and the season's open home-visit tasks cancelled. The window policy's pending
reminders are left to the outbox sender's claim-time screen, which expires them unsent as `expired_certified`
(rewriting a million outbox rows inside the import was its largest cost); the rolling policy cancels them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from core.settings import Settings
from models import Certification, HomeVisitTask, Notification, Pensioner, bulk
from models.engine import dialect_insert
from models.enums import CertificationChannel, HomeVisitTaskStatus, NotificationStatus, PensionStatus

UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE
NOT_CERTIFIABLE = (PensionStatus.TERMINATED.value, PensionStatus.ON_HOLD.value)


@dataclass
class Outcome:
    """What certifying a plan did, per person."""

    skipped_not_active: int = 0
    not_counted: int = 0
    already_certified: int = 0
    certified: int = 0
    reinstated: int = 0
    reminders_cancelled: int = 0  # rolling policy only (the window policy leaves them to the sender's screen)
    home_visit_tasks_cancelled: int = 0


def plan_table(session: Session) -> Table:
    """The TEMP plan: one candidate per person, then what happened to them."""
    return bulk.staging_table(
        session,
        "import_certify_plan",
        Column("pensioner_id", Integer, primary_key=True),
        Column("evidence_date", Date),
        Column("source", String),
        Column("status", String),
        Column("season_year", Integer),
        Column("eligible", Integer),
        Column("existing_id", Integer),
        Column("due", Date),
        Column("certification_id", Integer),
    )


def fill_plan(*, session: Session, settings: Settings, plan: Table, candidates: Any, today: date, oldest: date) -> None:
    """Plan rows from `candidates` (pensioner_id, evidence_date, source): status, season, window, standing cert.

    On PostgreSQL each person to certify gets their certification's id here from the id sequence: no join
    back from certification afterwards (3 s of a million-row import).
    """
    d = candidates.c.evidence_date
    year, in_window = _season_and_window(session=session, settings=settings, evidence_date=d, today=today)
    standing = and_(
        Certification.pensioner_id == Pensioner.id,
        Certification.season_year == year,
        Certification.withdrawn_at.is_(None),
    )
    eligible = case((and_(d >= oldest, in_window), 1), else_=0)
    columns: dict[str, Any] = {
        "pensioner_id": Pensioner.id,
        "evidence_date": d,
        "source": candidates.c.source,
        "status": Pensioner.pension_status,
        "season_year": year,
        "eligible": eligible,
        "existing_id": Certification.id,
        "due": Pensioner.certification_due_date,
    }
    query = (
        select(*columns.values())
        .select_from(Pensioner)
        .join(candidates, candidates.c.pensioner_id == Pensioner.id)
        .outerjoin(Certification, standing)  # the standing index is unique: one row at most
    )
    if bulk.is_postgresql(session):
        sequence = session.scalar(select(func.pg_get_serial_sequence(Certification.__tablename__, "id")))
        to_certify = and_(Pensioner.pension_status.not_in(NOT_CERTIFIABLE), eligible == 1, Certification.id.is_(None))
        columns["certification_id"] = case((to_certify, func.nextval(literal(sequence))))
        # Ids in pensioner order (PostgreSQL evaluates nextval after the sort): the certification INSERT then
        # appends to both its primary key and its standing index; random ids cost 25 s instead of 13 s.
        query = query.add_columns(columns["certification_id"]).order_by(Pensioner.id)
    session.execute(plan.insert().from_select(list(columns), query))
    bulk.analyze(session, plan.name)


def _season_and_window(
    *, session: Session, settings: Settings, evidence_date: Any, today: date
) -> tuple[Any, ColumnElement[bool]]:
    """(season year, evidence inside the person's window) as SQL, as `seasons.deadline_for` decides per person."""
    if settings.season_policy == "rolling":
        due = Pensioner.certification_due_date
        lead = max(settings.reminder_offsets, default=30)
        opens = bulk.add_days(session, due, -lead)  # seasons.rolling_window's open date
        return bulk.year_of(session, due), and_(due.is_not(None), evidence_date >= opens)
    season = seasons.current_season(session=session, today=today)
    if season is None:
        return literal(None, Integer), literal(False)
    days = timedelta(days=settings.new_pensioner_days)
    windows = seasons.region_windows(session=session, season=season)
    # Added to the roster after (window close - new_pensioner_days): the person's own window opens that day.
    late: ColumnElement[Any] = literal(season.close_date - days, Date)
    if windows:
        late = case(
            {code: literal(w.close_date - days, Date) for code, w in windows.items()},
            value=seasons.window_key(list(windows)),
            else_=late,
        )
    added = Pensioner.added_on
    newcomer = and_(added.is_not(None), added > late, evidence_date >= added)
    regular = and_(or_(added.is_(None), added <= late), evidence_date >= season.open_date)
    return literal(season.year, Integer), or_(newcomer, regular)


def certify_plan(
    *, session: Session, settings: Settings, plan: Table, now: datetime, today: date, import_run: str
) -> Outcome:
    """Certify the plan's certifiable people (channel data_comparison, quoting the run) with every follow-up."""
    p = plan.c
    active = p.status.not_in(NOT_CERTIFIABLE)
    outcome = Outcome()
    counts = session.execute(
        select(
            func.count().filter(~active),
            func.count().filter(active, p.eligible == 0),
            func.count().filter(active, p.eligible == 1, p.existing_id.is_not(None)),
        )
    ).one()
    outcome.skipped_not_active, outcome.not_counted, outcome.already_certified = (int(n or 0) for n in counts)
    to_certify = and_(active, p.eligible == 1, p.existing_id.is_(None))
    _insert_certifications(
        session=session, settings=settings, plan=plan, where=to_certify, now=now, import_run=import_run
    )
    fresh = p.certification_id.is_not(None)
    certified = int(session.scalar(select(func.count()).where(fresh)) or 0)
    # Another transaction's certification won the race: the person counts as already certified, as before.
    outcome.already_certified += int(session.scalar(select(func.count()).where(to_certify)) or 0) - certified
    outcome.certified = certified
    if certified:
        _follow_up(session=session, settings=settings, plan=plan, now=now, today=today, outcome=outcome)
    return outcome


def _insert_certifications(
    *, session: Session, settings: Settings, plan: Table, where: ColumnElement[bool], now: datetime, import_run: str
) -> None:
    """One certification per person to certify (quoting the run); each plan row then quotes the one it made."""
    p = plan.c
    columns = ["pensioner_id", "season_year", "certified_at", "channel", "source", "evidence", "import_run"]
    values: list[Any] = [
        p.pensioner_id,
        p.season_year,
        literal(now, Certification.__table__.c.certified_at.type),
        literal(CertificationChannel.DATA_COMPARISON.value),
        p.source,
        bulk.json_object(session, evidence_date=p.evidence_date, source=p.source),
        literal(import_run, Certification.__table__.c.import_run.type),
    ]
    if settings.season_policy == "rolling":
        columns.append("replaced_due_date")
        values.append(p.due)
    if not bulk.is_postgresql(session):  # SQLite: ids from AUTOINCREMENT, then the plan quotes them (0.8 s)
        session.execute(
            dialect_insert(session, Certification)
            .from_select(columns, select(*values).where(where).order_by(p.pensioner_id))
            .on_conflict_do_nothing(
                index_elements=["pensioner_id", "season_year"], index_where=Certification.withdrawn_at.is_(None)
            )
        )
        session.execute(
            update(plan)
            .where(
                where,
                Certification.pensioner_id == p.pensioner_id,
                Certification.season_year == p.season_year,
                Certification.withdrawn_at.is_(None),
                Certification.import_run == import_run,
            )
            .values(certification_id=Certification.id)
        )
    else:
        _insert_with_planned_ids(session=session, plan=plan, columns=columns, values=values)
    bulk.analyze(session, "certification", plan.name)


def _insert_with_planned_ids(*, session: Session, plan: Table, columns: list[str], values: list[Any]) -> None:
    """PostgreSQL: the certifications with the ids the plan gave them; a lost race voids the planned id.

    A plain INSERT first, in a savepoint: `ON CONFLICT` costs every row a speculative insertion (17.7 s instead
    of 14.8-15.1 s for a million rows). Only when another channel certified one of the people meanwhile (a unique
    violation, rare) does the savepoint roll back and the INSERT run again skipping the conflicts.
    """
    p = plan.c
    rows = select(p.certification_id, *values).where(p.certification_id.is_not(None)).order_by(p.pensioner_id)
    stmt = dialect_insert(session, Certification).from_select(["id", *columns], rows)
    try:
        with session.begin_nested():
            session.execute(stmt)
        return
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
    inserted = session.execute(
        stmt.on_conflict_do_nothing(
            index_elements=["pensioner_id", "season_year"], index_where=Certification.withdrawn_at.is_(None)
        ),
        execution_options={"preserve_rowcount": True},
    ).rowcount  # type: ignore[attr-defined]
    planned = int(session.scalar(select(func.count()).where(p.certification_id.is_not(None))) or 0)
    if int(inserted or 0) != planned:  # another channel certified some meanwhile: theirs stands
        made = select(Certification.id).where(Certification.id == p.certification_id)
        session.execute(
            update(plan).where(p.certification_id.is_not(None), ~made.exists()).values(certification_id=None)
        )


def _follow_up(
    *, session: Session, settings: Settings, plan: Table, now: datetime, today: date, outcome: Outcome
) -> None:
    """Reinstate, move rolling due dates, cancel the season's visits (and rolling reminders); counts in `outcome`."""
    p = plan.c
    fresh = p.certification_id.is_not(None)
    people = select(p.pensioner_id, p.certification_id).where(fresh).subquery()
    outcome.reinstated = lifecycle.reinstate_many(
        session=session, people=people, now=now, today=today, actor=("system", None)
    )
    if settings.season_policy == "rolling":
        session.execute(
            update(Pensioner)
            .where(Pensioner.id.in_(select(p.pensioner_id).where(fresh)))
            .values(certification_due_date=seasons.add_months(today, settings.rolling_validity_months)),
            execution_options={"synchronize_session": False},
        )
        outcome.reminders_cancelled = _cancel_season_reminders(session=session, plan=plan)
    outcome.home_visit_tasks_cancelled = _cancel_season_tasks(session=session, plan=plan, now=now)


def _of_the_certified(plan: Table, pensioner_id: Any, season_year: Any) -> list[ColumnElement[bool]]:
    """A row of a person the plan certified, of the season they were certified for."""
    p = plan.c
    year_of = select(p.season_year).where(p.pensioner_id == pensioner_id).scalar_subquery()
    return [pensioner_id.in_(select(p.pensioner_id).where(p.certification_id.is_not(None))), season_year == year_of]


def _cancel_season_reminders(*, session: Session, plan: Table) -> int:
    """The rolling policy's pending reminders of the newly certified, cancelled (the screen does not cover it)."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.status == NotificationStatus.PENDING.value,
            Notification.kind.startswith(lifecycle.REMINDER_KIND_PREFIX),
            *_of_the_certified(plan, Notification.pensioner_id, Notification.season_year),
        )
        .values(status=NotificationStatus.CANCELLED.value),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _cancel_season_tasks(*, session: Session, plan: Table, now: datetime) -> int:
    """The season's open home-visit tasks of the newly certified, cancelled; returns how many."""
    result = session.execute(
        update(HomeVisitTask)
        .where(
            HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value,
            *_of_the_certified(plan, HomeVisitTask.pensioner_id, HomeVisitTask.season_year),
        )
        .values(
            status=HomeVisitTaskStatus.CANCELLED.value,
            closed_at=now,
            close_reason="certified_other_channel",
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
