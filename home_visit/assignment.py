"""Who visits: balanced assignment of open tasks to covering field workers, and a supervisor's reassignment."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit
from core.settings import Settings
from home_visit import errors
from home_visit.addresses import region_chain
from home_visit.tasks import OPEN
from messaging import notices
from models import HomeVisitTask, Pensioner, StaffUser
from models.enums import StaffRole


def _field_staff_load(session: Session) -> tuple[dict[str, list[int]], Counter[int]]:
    """Active field workers by jurisdiction code, and their open-task counts."""
    open_count = (
        select(HomeVisitTask.assigned_staff_id, func.count().label("n"))
        .where(HomeVisitTask.status == OPEN)
        .group_by(HomeVisitTask.assigned_staff_id)
        .subquery()
    )
    rows = session.execute(
        select(StaffUser.id, StaffUser.region_code, func.coalesce(open_count.c.n, 0))
        .outerjoin(open_count, open_count.c.assigned_staff_id == StaffUser.id)
        .where(StaffUser.role == StaffRole.FIELD.value, StaffUser.active.is_(True))
    ).all()
    by_region: dict[str, list[int]] = {}
    load: Counter[int] = Counter()
    for staff_id, region_code, n in rows:
        by_region.setdefault(region_code, []).append(staff_id)
        load[staff_id] = int(n)
    return by_region, load


def _pick(chain: list[str], by_region: dict[str, list[int]], load: Counter[int]) -> int | None:
    """Fewest open tasks first; on a tie the most local worker, then the lowest id."""
    candidates = [(load[sid], depth, sid) for depth, code in enumerate(chain) for sid in by_region.get(code, [])]
    return min(candidates)[2] if candidates else None


def assign_unassigned(*, session: Session, settings: Settings, now: datetime) -> int:
    """Give every open unassigned task to a covering field worker, balancing open tasks; returns how many.

    Each pensioner given a worker is texted the appointment (the task's due date, the worker's name).
    """
    rows = session.execute(
        select(
            HomeVisitTask.id,
            HomeVisitTask.pensioner_id,
            HomeVisitTask.due_date,
            Pensioner.region_code,
            Pensioner.town_code,
            Pensioner.district_code,
            Pensioner.city_code,
        )
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(HomeVisitTask.status == OPEN, HomeVisitTask.assigned_staff_id.is_(None))
        .order_by(HomeVisitTask.due_date, HomeVisitTask.id)
    ).all()
    if not rows:
        return 0
    by_region, load = _field_staff_load(session)
    updates = []
    appointments: dict[tuple[int, date], list[int]] = {}
    for row in rows:
        staff_id = _pick(region_chain(row), by_region, load)
        if staff_id is not None:
            load[staff_id] += 1
            updates.append({"id": row.id, "assigned_staff_id": staff_id, "updated_at": now})
            appointments.setdefault((staff_id, row.due_date), []).append(row.pensioner_id)
    if updates:
        session.execute(update(HomeVisitTask), updates)
        audit.record(
            session=session,
            actor_type="system",
            actor_id=None,
            action="home_visit.tasks_assigned",
            target_type="home_visit_task",
            target_id=None,
            detail={"assignments": [[u["id"], u["assigned_staff_id"]] for u in updates]},
        )
        _notify_appointments(session=session, settings=settings, appointments=appointments, now=now)
    return len(updates)


def _notify_appointments(
    *, session: Session, settings: Settings, appointments: dict[tuple[int, date], list[int]], now: datetime
) -> int:
    """Appointment texts of a bulk assignment: one INSERT … SELECT per worker and date; returns rows."""
    names = dict(
        session.execute(
            select(StaffUser.id, func.coalesce(StaffUser.display_name, StaffUser.username)).where(
                StaffUser.id.in_({staff_id for staff_id, _ in appointments})
            )
        ).all()
    )
    return sum(
        notices.queue_appointment_notices(
            session=session, settings=settings, pensioner_ids=ids, day=day, worker=names[staff_id], now=now
        )
        for (staff_id, day), ids in appointments.items()
    )


def assign_one(*, session: Session, task: HomeVisitTask, pensioner: Pensioner) -> int | None:
    """Give one task to the least-loaded covering field worker (None when nobody covers the pensioner)."""
    by_region, load = _field_staff_load(session)
    task.assigned_staff_id = _pick(region_chain(pensioner), by_region, load)
    return task.assigned_staff_id


def notify_assigned(*, session: Session, settings: Settings, task: HomeVisitTask, now: datetime) -> int:
    """Text the appointment of a task given to a worker (its due date), unless already texted; returns rows."""
    worker = session.get(StaffUser, task.assigned_staff_id) if task.assigned_staff_id else None
    if worker is None:
        return 0
    return notify_appointment(session=session, settings=settings, task=task, worker=worker, day=task.due_date, now=now)


def reassign(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    staff_id: int,
    actor: StaffUser,
    now: datetime,
    appointment_date: date | None = None,
) -> HomeVisitTask:
    """A supervisor gives an open task to another field worker covering the pensioner; the appointment is texted."""
    if task.status != OPEN:
        raise errors.TaskClosed()
    worker = session.get(StaffUser, staff_id)
    pensioner = session.get(Pensioner, task.pensioner_id)
    assert pensioner is not None
    if (
        worker is None
        or not worker.active
        or worker.role != StaffRole.FIELD.value
        or worker.region_code not in region_chain(pensioner)
    ):
        raise errors.InvalidAssignee()
    day = _appointment_day(settings=settings, task=task, now=now, given=appointment_date)
    _assign(session=session, task=task, to=worker.id, actor_id=actor.id, action="home_visit.task_reassigned", now=now)
    notify_appointment(session=session, settings=settings, task=task, worker=worker, day=day, now=now)
    return task


def take_over(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    staff: StaffUser,
    now: datetime,
    appointment_date: date | None = None,
) -> HomeVisitTask:
    """Staff of the pensioner's jurisdiction give an open task to themselves before visiting; audited and texted."""
    if task.status != OPEN:
        raise errors.TaskClosed()
    pensioner = session.get(Pensioner, task.pensioner_id)
    assert pensioner is not None
    if staff.role == StaffRole.FIELD.value and staff.region_code not in region_chain(pensioner):
        raise errors.InvalidAssignee()
    day = _appointment_day(settings=settings, task=task, now=now, given=appointment_date)
    if task.assigned_staff_id == staff.id and appointment_date is None:
        return task  # a retried take: the appointment text went out the first time
    if task.assigned_staff_id != staff.id:
        _assign(
            session=session, task=task, to=staff.id, actor_id=staff.id, action="home_visit.task_taken_over", now=now
        )
    notify_appointment(session=session, settings=settings, task=task, worker=staff, day=day, now=now)
    return task


def _appointment_day(*, settings: Settings, task: HomeVisitTask, now: datetime, given: date | None) -> date:
    """The date given (today or later), else the task's due date."""
    if given is None:
        return task.due_date
    if given < now.astimezone(ZoneInfo(settings.timezone)).date():
        raise errors.InvalidAppointmentDate()
    return given


def notify_appointment(
    *, session: Session, settings: Settings, task: HomeVisitTask, worker: StaffUser, day: date, now: datetime
) -> int:
    """Text the appointment (date, the worker's name) to the pensioner and, for 80+/bedridden, the family."""
    return notices.queue_appointment_notices(
        session=session,
        settings=settings,
        pensioner_ids=[task.pensioner_id],
        day=day,
        worker=worker.display_name or worker.username,
        now=now,
    )


def _assign(
    *, session: Session, task: HomeVisitTask, to: int, actor_id: int, action: str, now: datetime
) -> HomeVisitTask:
    """Give the task to `to` (escalation cleared), audited with from and to."""
    previous = task.assigned_staff_id
    task.assigned_staff_id = to
    task.escalated_at = None
    task.updated_at = now
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=actor_id,
        action=action,
        target_type="home_visit_task",
        target_id=task.id,
        detail={"from": previous, "to": to},
    )
    session.flush()
    return task
