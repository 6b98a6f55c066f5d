"""Help requests (the app or a logged phone call): the season's task, created or reopened."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification import seasons
from core import audit
from core.settings import Settings
from home_visit import errors
from home_visit.assignment import assign_one, notify_assigned
from home_visit.tasks import OPEN, due_date_for
from models import Certification, HomeVisitTask, Pensioner
from models.enums import HomeVisitReason, PensionStatus


def request_visit(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    now: datetime,
    source: str,
    staff_id: int | None = None,
    note: str | None = None,
) -> HomeVisitTask:
    """A help request (from the app or a logged phone call): the season's task, created or reopened."""
    today = seasons.local_date(now, settings.timezone)
    year, deadline = _requestable_season(session=session, settings=settings, pensioner=pensioner, today=today)
    due = due_date_for(today=today, close_date=deadline, settings=settings)
    task, action = _season_task(
        session=session, pensioner_id=pensioner.id, year=year, due=due, note=note, now=now, today=today
    )
    if task.assigned_staff_id is None:
        assign_one(session=session, task=task, pensioner=pensioner)
    session.flush()
    notify_assigned(session=session, settings=settings, task=task, now=now)
    audit.record(
        session=session,
        actor_type="staff" if staff_id else "pensioner",
        actor_id=staff_id or pensioner.id,
        action=action,
        target_type="home_visit_task",
        target_id=task.id,
        detail={"source": source, "season_year": year, "assigned_staff_id": task.assigned_staff_id},
    )
    return task


def _requestable_season(*, session: Session, settings: Settings, pensioner: Pensioner, today: date) -> tuple[int, date]:
    """The season year and deadline a visit can be asked for; refuses terminated, out-of-season or certified."""
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        raise errors.PensionTerminated()
    window, deadline = seasons.deadline_for(session=session, settings=settings, pensioner=pensioner, today=today)
    if window is None or deadline is None:
        raise errors.NoOpenSeason()
    year = window.season_year
    if session.scalar(
        select(Certification.id).where(
            Certification.pensioner_id == pensioner.id,
            Certification.season_year == year,
            Certification.withdrawn_at.is_(None),
        )
    ):
        raise errors.AlreadyCertified()
    return year, deadline


def _season_task(
    *, session: Session, pensioner_id: int, year: int, due: date, note: str | None, now: datetime, today: date
) -> tuple[HomeVisitTask, str]:
    """The season's task, created (race-safe), left open or reopened; with the audit action that says which."""
    task = _task_for(session, pensioner_id, year)
    if task is None:
        task = HomeVisitTask(
            pensioner_id=pensioner_id,
            season_year=year,
            reason=HomeVisitReason.HELP_REQUEST.value,
            status=OPEN,
            due_date=due,
            note=note,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(task)
        except IntegrityError:
            task = _task_for(session, pensioner_id, year)
            assert task is not None
        return task, "home_visit.requested"
    if task.status == OPEN:
        if task.due_date < today:
            task.due_date = due  # the old promise has passed: a repeated request gets a date ahead, not behind
        return task, "home_visit.request_repeated"
    task.status, task.reason, task.due_date = OPEN, HomeVisitReason.HELP_REQUEST.value, due
    task.closed_at = task.close_reason = task.escalated_at = None
    task.note = note or task.note
    return task, "home_visit.reopened"


def _task_for(session: Session, pensioner_id: int, year: int) -> HomeVisitTask | None:
    """The pensioner's task of the season, fresh from the database."""
    return session.scalar(
        select(HomeVisitTask)
        .where(HomeVisitTask.pensioner_id == pensioner_id, HomeVisitTask.season_year == year)
        .execution_options(populate_existing=True)
    )


def current_task(*, session: Session, settings: Settings, pensioner: Pensioner, now: datetime) -> HomeVisitTask | None:
    """The pensioner's home-visit task of the current season (asked for or scheduled), if any."""
    today = seasons.local_date(now, settings.timezone)
    window, _ = seasons.deadline_for(session=session, settings=settings, pensioner=pensioner, today=today)
    if window is None:
        return None
    return _task_for(session, pensioner.id, window.season_year)
