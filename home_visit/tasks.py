"""Home-visit tasks: the set-based creation rules, escalation of overdue tasks with notifications, and reads."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, select, update
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from faces import service as face_service
from home_visit import errors
from messaging import outbox
from models import AuditEvent, Certification, HomeVisitTask, Pensioner, Region, StaffUser, VerificationAttempt
from models.engine import dialect_insert
from models.enums import HomeVisitReason, HomeVisitTaskStatus, PensionStatus, StaffRole
from registry import regions as region_service

OPEN = HomeVisitTaskStatus.OPEN.value


def due_date_for(*, today: date, close_date: date, settings: Settings) -> date:
    """A new task's due date: a few days out, but before the close while the window is open (never before today)."""
    soon = today + timedelta(days=settings.home_visit_due_days)
    last = close_date - timedelta(days=1)
    return min(soon, last) if last >= today else soon


def _insert_tasks(
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    reason: str,
    due_date: date,
    now: datetime,
) -> int:
    """INSERT … SELECT … ON CONFLICT DO NOTHING: one task per matching pensioner and season."""
    table = HomeVisitTask.__table__
    uncertified = ~exists().where(
        Certification.pensioner_id == Pensioner.id,
        Certification.season_year == season_year,
        Certification.withdrawn_at.is_(None),
    )
    source = select(
        Pensioner.id,
        literal(season_year),
        literal(reason),
        literal(OPEN),
        literal(due_date, table.c.due_date.type),
        literal(now, table.c.created_at.type),
        literal(now, table.c.updated_at.type),
    ).where(
        where,
        uncertified,
        # Not terminated, and not held on a reported death (a supervisor decides that one first).
        Pensioner.pension_status.in_([PensionStatus.ACTIVE.value, PensionStatus.SUSPENDED.value]),
        Pensioner.death_date.is_(None),
    )
    stmt = (
        dialect_insert(session, HomeVisitTask)
        .from_select(
            ["pensioner_id", "season_year", "reason", "status", "due_date", "created_at", "updated_at"], source
        )
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year"])
        .returning(HomeVisitTask.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … SELECT that inserted nothing.
    return len(session.execute(stmt).all())


def _failed_app_attempts(season_year: int, minimum: int) -> Any:
    """Pensioner ids with at least `minimum` failed app attempts in the season."""
    return (
        select(VerificationAttempt.pensioner_id)
        .where(
            face_service.failed_app_attempt(),
            VerificationAttempt.season_year == season_year,
        )
        .group_by(VerificationAttempt.pensioner_id)
        .having(func.count() >= minimum)
    )


def _cohorts(*, session: Session, settings: Settings, today: date) -> list[seasons.Cohort]:
    """The cohorts whose window the rules look at today (rolling deadlines or the current season)."""
    if settings.season_policy == "rolling":
        lead = max(settings.home_visit_bedridden_days, settings.home_visit_age_days)
        return seasons.rolling_cohorts(
            session=session,
            settings=settings,
            due_from=today - timedelta(days=settings.season_grace_days),
            due_to=today + timedelta(days=lead),
        )
    season = seasons.current_season(session=session, today=today)
    return seasons.window_cohorts(session=session, season=season, settings=settings) if season else []


def create_due_tasks(*, session: Session, settings: Settings, now: datetime) -> Counter[str]:
    """Apply the three task rules to every window cohort, set-based; returns tasks created per reason."""
    today = seasons.local_date(now, settings.timezone)
    eighty = seasons.add_months(today, -12 * settings.home_visit_min_age)
    created: Counter[str] = Counter()
    for cohort in _cohorts(session=session, settings=settings, today=today):
        window = cohort.window
        if today < window.open_date or today > window.suspend_after:
            continue
        year, close = window.season_year, window.close_date
        due = due_date_for(today=today, close_date=close, settings=settings)
        mobility_due = today >= close - timedelta(days=settings.home_visit_bedridden_days)
        rules: list[tuple[str, ColumnElement[bool] | None]] = [
            (HomeVisitReason.BEDRIDDEN.value, Pensioner.bedridden.is_(True) if mobility_due else None),
            (HomeVisitReason.LIMITED_MOBILITY.value, Pensioner.limited_mobility.is_(True) if mobility_due else None),
            (
                HomeVisitReason.AGE_80.value,
                Pensioner.birth_date <= eighty
                if today >= close - timedelta(days=settings.home_visit_age_days)
                else None,
            ),
            (
                HomeVisitReason.FAILED_ATTEMPTS.value,
                Pensioner.id.in_(_failed_app_attempts(year, settings.home_visit_failed_attempts)),
            ),
        ]
        for reason, condition in rules:
            if condition is None:
                continue
            n = _insert_tasks(
                session=session,
                where=and_(cohort.where, condition),
                season_year=year,
                reason=reason,
                due_date=due,
                now=now,
            )
            created[reason] += n
    if created.total():
        _audit_new_tasks(session=session, now=now)
    return created


def _audit_new_tasks(*, session: Session, now: datetime) -> None:
    """One audit event per task created at `now` (set-based, skipped when already written)."""
    table = AuditEvent.__table__
    target = cast(HomeVisitTask.id, String)
    already = exists().where(
        AuditEvent.target_type == "home_visit_task",
        AuditEvent.target_id == target,
        AuditEvent.action == "home_visit.task_created",
    )
    source = select(
        literal(now, table.c.at.type),
        literal("system"),
        literal("home_visit.task_created"),
        literal("home_visit_task"),
        target,
        literal({"by": "sweep"}, table.c.detail.type),
    ).where(HomeVisitTask.created_at == now, ~already)
    session.execute(
        dialect_insert(session, AuditEvent).from_select(
            ["at", "actor_type", "action", "target_type", "target_id", "detail"], source
        )
    )


def escalate_overdue(*, session: Session, settings: Settings, now: datetime) -> int:
    """Mark open tasks past their due date as escalated (once), with one audit event each."""
    today = seasons.local_date(now, settings.timezone)
    overdue = and_(HomeVisitTask.status == OPEN, HomeVisitTask.due_date < today, HomeVisitTask.escalated_at.is_(None))
    table = AuditEvent.__table__
    session.execute(
        dialect_insert(session, AuditEvent).from_select(
            ["at", "actor_type", "action", "target_type", "target_id", "detail"],
            select(
                literal(now, table.c.at.type),
                literal("system"),
                literal("home_visit.task_escalated"),
                literal("home_visit_task"),
                cast(HomeVisitTask.id, String),
                literal({"reason": "overdue"}, table.c.detail.type),
            ).where(overdue),
        )
    )
    result = session.execute(
        update(HomeVisitTask).where(overdue).values(escalated_at=now, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        notify_escalations(session=session, now=now)
    return count


def notify_escalations(*, session: Session, now: datetime) -> int:
    """One SMS per assigned field worker and per supervisor covering the tasks escalated at `now`."""
    rows = session.execute(
        select(
            HomeVisitTask.assigned_staff_id,
            Pensioner.region_code,
            Pensioner.town_code,
            Pensioner.district_code,
            Pensioner.city_code,
        )
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(HomeVisitTask.escalated_at == now)
    ).all()
    per_staff: Counter[int] = Counter(r[0] for r in rows if r[0] is not None)
    supervisors = session.execute(
        select(StaffUser.id, StaffUser.region_code).where(
            StaffUser.role == StaffRole.SUPERVISOR.value, StaffUser.active.is_(True), StaffUser.phone.is_not(None)
        )
    ).all()
    for sup_id, region in supervisors:
        covered = sum(1 for r in rows if region in r[1:])
        if covered:
            per_staff[sup_id] += covered
    phones = dict(
        session.execute(
            select(StaffUser.id, StaffUser.phone).where(StaffUser.id.in_(per_staff), StaffUser.phone.is_not(None))
        ).all()
    )
    sent = 0
    for staff_id, n in per_staff.items():
        phone = phones.get(staff_id)
        if not phone:
            continue
        outbox.enqueue(
            session=session,
            phone=phone,
            kind="home_visit_escalation",
            now=now,
            body_zh=f"【养老金认证】有{n}个上门认证任务已逾期，请尽快安排走访。",
            body_en=f"[Pension certification] {n} home-visit task(s) are overdue; please arrange the visits.",
        )
        sent += 1
    return sent


def close_task(task: HomeVisitTask, *, now: datetime, status: str, reason: str) -> None:
    """Close a task (done or cancelled) with its reason."""
    task.status, task.closed_at, task.close_reason, task.updated_at = status, now, reason, now


def revisit_date(*, settings: Settings, now: datetime) -> date:
    """When a put-off task (not at home, moved within the city, visit rejected) is due again by default."""
    return seasons.local_date(now, settings.timezone) + timedelta(days=settings.home_visit_revisit_days)


def reschedule_task(task: HomeVisitTask, *, due_date: date, now: datetime) -> None:
    """Set a new due date; the task counts as not escalated again."""
    task.due_date, task.escalated_at, task.updated_at = due_date, None, now


def task_scope(region: Region) -> ColumnElement[bool]:
    """SQL condition: the task's pensioner lives inside `region`."""
    return HomeVisitTask.pensioner_id.in_(select(Pensioner.id).where(region_service.pensioner_scope(region)))


def get_task(*, session: Session, task_id: int, region: Region, for_update: bool = False) -> HomeVisitTask:
    """A task whose pensioner lives in the caller's jurisdiction; 404 otherwise (IDs cannot be probed)."""
    stmt = select(HomeVisitTask).where(HomeVisitTask.id == task_id, task_scope(region))
    if for_update:
        stmt = stmt.with_for_update()
    task = session.scalar(stmt)
    if task is None:
        raise errors.TaskNotFound()
    return task


def list_tasks(
    *,
    session: Session,
    region: Region,
    assigned_to: int | None,
    status: str | None = OPEN,
    escalated: bool | None = None,
    unassigned: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[tuple[HomeVisitTask, Pensioner]]:
    """Tasks in a jurisdiction (optionally one worker's), by due date."""
    stmt = (
        select(HomeVisitTask, Pensioner)
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(region_service.pensioner_scope(region))
    )
    if assigned_to is not None:
        stmt = stmt.where(HomeVisitTask.assigned_staff_id == assigned_to)
    if unassigned:
        stmt = stmt.where(HomeVisitTask.assigned_staff_id.is_(None))
    if status:
        stmt = stmt.where(HomeVisitTask.status == status)
    if escalated is not None:
        stmt = stmt.where(
            HomeVisitTask.escalated_at.is_not(None) if escalated else HomeVisitTask.escalated_at.is_(None)
        )
    stmt = stmt.order_by(HomeVisitTask.due_date, HomeVisitTask.id).limit(limit).offset(offset)
    return [(t, p) for t, p in session.execute(stmt).all()]
