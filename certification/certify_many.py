"""Certifying many people at once: the rules of `service.record_certification`, as set-based SQL over a plan table.

A plan holds one candidate per person (the evidence that would certify them). Each person is then, exactly as
one `record_certification` call per person would have it: skipped when terminated or on hold, not counted when
the evidence is outside their window (season or rolling), already certified when a standing certification for
the season exists, else certified — with the certification's audit row, reinstatement through
`lifecycle.reinstate_many` (ledger rows, before/after audit), the rolling due date moved, and the season's
pending reminders and open home-visit tasks cancelled (audited per person when there were any).
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
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from core import audit
from core.settings import Settings
from models import Certification, HomeVisitTask, Notification, Pensioner, bulk
from models.engine import dialect_insert
from models.enums import CertificationChannel, HomeVisitTaskStatus, NotificationStatus, PensionStatus

NOT_CERTIFIABLE = (PensionStatus.TERMINATED.value, PensionStatus.ON_HOLD.value)


@dataclass
class Outcome:
    """What certifying a plan did, per person."""

    skipped_not_active: int = 0
    not_counted: int = 0
    already_certified: int = 0
    certified: int = 0
    reinstated: int = 0


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
        Column("reminders", Integer),
        Column("tasks", Integer),
    )


def fill_plan(*, session: Session, settings: Settings, plan: Table, candidates: Any, today: date, oldest: date) -> None:
    """Plan rows from `candidates` (pensioner_id, evidence_date, source): status, season, window check, standing cert."""
    d = candidates.c.evidence_date
    year, in_window = _season_and_window(session=session, settings=settings, evidence_date=d, today=today)
    existing = (
        select(Certification.id)
        .where(Certification.pensioner_id == Pensioner.id, Certification.season_year == year)
        .where(Certification.withdrawn_at.is_(None))
        .scalar_subquery()
    )
    session.execute(
        plan.insert().from_select(
            ["pensioner_id", "evidence_date", "source", "status", "season_year", "eligible", "existing_id", "due"],
            select(
                Pensioner.id,
                d,
                candidates.c.source,
                Pensioner.pension_status,
                year,
                case((and_(d >= oldest, in_window), 1), else_=0),
                existing,
                Pensioner.certification_due_date,
            ).join(candidates, candidates.c.pensioner_id == Pensioner.id),
        )
    )
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


def certify_plan(*, session: Session, settings: Settings, plan: Table, now: datetime, today: date) -> Outcome:
    """Certify the plan's certifiable people (channel data_comparison) with every follow-up; returns the counts."""
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
    _insert_certifications(session=session, settings=settings, plan=plan, where=to_certify, now=now)
    fresh = p.certification_id.is_not(None)
    certified = int(session.scalar(select(func.count()).where(fresh)) or 0)
    # Another transaction's certification won the race: the person counts as already certified, as before.
    outcome.already_certified += int(session.scalar(select(func.count()).where(to_certify)) or 0) - certified
    outcome.certified = certified
    if certified:
        outcome.reinstated = _follow_up(session=session, settings=settings, plan=plan, now=now, today=today)
    return outcome


def _insert_certifications(
    *, session: Session, settings: Settings, plan: Table, where: ColumnElement[bool], now: datetime
) -> None:
    """One certification per person to certify, then each plan row quotes the certification it made."""
    p = plan.c
    channel = CertificationChannel.DATA_COMPARISON.value
    at = literal(now, Certification.__table__.c.certified_at.type)
    columns = ["pensioner_id", "season_year", "certified_at", "channel", "source", "evidence"]
    values: list[Any] = [
        p.pensioner_id,
        p.season_year,
        at,
        literal(channel),
        p.source,
        bulk.json_object(session, evidence_date=p.evidence_date, source=p.source),
    ]
    if settings.season_policy == "rolling":
        columns.append("replaced_due_date")
        values.append(p.due)
    session.execute(
        dialect_insert(session, Certification)
        .from_select(columns, select(*values).where(where).order_by(p.pensioner_id))
        .on_conflict_do_nothing(
            index_elements=["pensioner_id", "season_year"], index_where=Certification.withdrawn_at.is_(None)
        )
    )
    # UPDATE … FROM (a join, not a probe per row): the plan quotes the certification each person got.
    session.execute(
        update(plan)
        .where(
            where,
            Certification.pensioner_id == p.pensioner_id,
            Certification.season_year == p.season_year,
            Certification.withdrawn_at.is_(None),
            Certification.certified_at == at,
            Certification.channel == channel,
        )
        .values(certification_id=Certification.id)
    )
    bulk.analyze(session, "certification", plan.name)


def _follow_up(*, session: Session, settings: Settings, plan: Table, now: datetime, today: date) -> int:
    """Audit, reinstate, move rolling due dates, cancel the season's reminders and visits; returns reinstated."""
    p = plan.c
    fresh = p.certification_id.is_not(None)
    audit.record_from_select(
        session=session,
        actor_type="system",
        actor_id=None,
        action="certification.recorded",
        target_type="pensioner",
        query=select(
            p.pensioner_id,
            bulk.json_object(
                session,
                season_year=p.season_year,
                channel=literal(CertificationChannel.DATA_COMPARISON.value),
                source=p.source,
                certification_id=p.certification_id,
            ),
        ).where(fresh),
    )
    people = select(p.pensioner_id, p.certification_id).where(fresh).subquery()
    reinstated = lifecycle.reinstate_many(session=session, people=people, now=now, today=today, actor=("system", None))
    if settings.season_policy == "rolling":
        session.execute(
            update(Pensioner)
            .where(Pensioner.id.in_(select(p.pensioner_id).where(fresh)))
            .values(certification_due_date=seasons.add_months(today, settings.rolling_validity_months)),
            execution_options={"synchronize_session": False},
        )
    _cancel_season_follow_ups(session=session, plan=plan, now=now)
    return reinstated


def _cancel_season_follow_ups(*, session: Session, plan: Table, now: datetime) -> None:
    """The season's pending reminders and open home-visit tasks of the newly certified, cancelled and audited."""
    p = plan.c
    fresh = p.certification_id.is_not(None)
    reminder = and_(
        Notification.status == NotificationStatus.PENDING.value,
        Notification.kind.startswith(lifecycle.REMINDER_KIND_PREFIX),
    )
    task_open = HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value
    count = func.count()
    session.execute(
        update(plan)
        .where(fresh)
        .values(
            reminders=select(count)
            .where(reminder, Notification.pensioner_id == p.pensioner_id, Notification.season_year == p.season_year)
            .scalar_subquery(),
            tasks=select(count)
            .where(task_open, HomeVisitTask.pensioner_id == p.pensioner_id, HomeVisitTask.season_year == p.season_year)
            .scalar_subquery(),
        )
    )
    year_of = select(p.season_year)
    session.execute(
        update(Notification)
        .where(
            reminder,
            Notification.pensioner_id.in_(select(p.pensioner_id).where(fresh, p.reminders > 0)),
            Notification.season_year == year_of.where(p.pensioner_id == Notification.pensioner_id).scalar_subquery(),
        )
        .values(status=NotificationStatus.CANCELLED.value),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(HomeVisitTask)
        .where(
            task_open,
            HomeVisitTask.pensioner_id.in_(select(p.pensioner_id).where(fresh, p.tasks > 0)),
            HomeVisitTask.season_year == year_of.where(p.pensioner_id == HomeVisitTask.pensioner_id).scalar_subquery(),
        )
        .values(
            status=HomeVisitTaskStatus.CANCELLED.value,
            closed_at=now,
            close_reason="certified_other_channel",
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    audit.record_from_select(
        session=session,
        actor_type="system",
        actor_id=None,
        action="certification.follow_ups_cancelled",
        target_type="pensioner",
        query=select(
            p.pensioner_id,
            bulk.json_object(session, season_year=p.season_year, reminders=p.reminders, home_visit_tasks=p.tasks),
        ).where(fresh, or_(p.reminders > 0, p.tasks > 0)),
    )
