"""The one module that changes a pension's status: suspend (set-based), reinstate with back pay, terminate on death.

Every channel — the suspension sweep, any certification, the deaths import, a "deceased" home visit — calls
these functions; none writes `pension_status` itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, literal, select, update
from sqlalchemy.orm import Session

from certification import seasons
from certification.errors import InvalidDeathDate
from core import audit
from core.settings import Settings
from faces import service as face_service
from models import Certification, HomeVisitTask, Notification, Pensioner, Suspension
from models.engine import dialect_insert
from models.enums import HomeVisitTaskStatus, NotificationStatus, PensionStatus

REMINDER_KIND_PREFIX = "reminder"


def active_members(
    where: ColumnElement[bool], *, season_year: int, require_uncertified: bool
) -> list[ColumnElement[bool]]:
    """Conditions for a cohort's active pensioners, without a certification for the season when required."""
    conditions = [where, Pensioner.pension_status == PensionStatus.ACTIVE.value]
    if require_uncertified:
        conditions.append(
            ~exists().where(Certification.pensioner_id == Pensioner.id, Certification.season_year == season_year)
        )
    return conditions


def suspend_cohort(
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    effective_date: date,
    now: datetime,
    require_uncertified: bool = True,
    region_code: str | None = None,
) -> int:
    """Suspend every active, uncertified pensioner of a cohort; returns how many pensions were suspended."""
    if require_uncertified:
        _reopen_lifted(session=session, where=where, season_year=season_year, effective_date=effective_date, now=now)
    _insert_suspensions(
        session=session,
        where=where,
        season_year=season_year,
        effective_date=effective_date,
        now=now,
        require_uncertified=require_uncertified,
    )
    open_suspension = exists().where(
        Suspension.pensioner_id == Pensioner.id,
        Suspension.season_year == season_year,
        Suspension.reinstated_at.is_(None),
    )
    # An open suspension implies no certification (certifying reinstates), so the flip needs no second
    # certification probe per pensioner.
    to_flip = and_(where, Pensioner.pension_status == PensionStatus.ACTIVE.value, open_suspension)
    result = session.execute(
        update(Pensioner)
        .where(to_flip)
        .values(pension_status=PensionStatus.SUSPENDED.value, status_since=effective_date, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        # Who was suspended is the suspension rows (suspended_at = this event's time); one event per cohort
        # keeps a million identical audit rows out of the log (docs/seasons.md).
        audit.record(
            session=session,
            actor_type="system",
            actor_id="sweep:suspensions",
            action="pension.suspended",
            target_type="suspension_batch",
            target_id=f"{season_year}:{region_code or 'city'}",
            detail={
                "season_year": season_year,
                "effective_date": effective_date.isoformat(),
                "region_code": region_code,
                "suspended": count,
                "suspended_at": now.astimezone(UTC).isoformat(),
            },
        )
    return count


def _reopen_lifted(
    *, session: Session, where: ColumnElement[bool], season_year: int, effective_date: date, now: datetime
) -> None:
    """Suspensions lifted without a certification (a window extended) open again from the new date."""
    uncertified = select(Pensioner.id).where(*active_members(where, season_year=season_year, require_uncertified=True))
    session.execute(
        update(Suspension)
        .where(
            Suspension.season_year == season_year,
            Suspension.reinstated_at.is_not(None),
            Suspension.effective_date < effective_date,
            Suspension.pensioner_id.in_(uncertified),
        )
        .values(
            effective_date=effective_date,
            suspended_at=now,
            reinstated_at=None,
            reinstated_effective_date=None,
            back_pay_months=None,
        ),
        execution_options={"synchronize_session": False},
    )


def _insert_suspensions(
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    effective_date: date,
    now: datetime,
    require_uncertified: bool,
) -> None:
    """One suspension row per active (uncertified) pensioner of the cohort; existing rows are left alone."""
    active = active_members(where, season_year=season_year, require_uncertified=require_uncertified)
    session.execute(
        dialect_insert(session, Suspension)
        .from_select(
            ["pensioner_id", "season_year", "effective_date", "suspended_at"],
            select(
                Pensioner.id,
                literal(season_year),
                literal(effective_date, Suspension.__table__.c.effective_date.type),
                literal(now, Suspension.__table__.c.suspended_at.type),
            ).where(and_(*active)),
        )
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year"])
    )


def reinstate(
    *, session: Session, pensioner: Pensioner, now: datetime, today: date, actor: tuple[str, int | None]
) -> None:
    """Close every open suspension of this person; back pay runs from its effective month to this month."""
    open_suspensions = session.scalars(
        select(Suspension).where(Suspension.pensioner_id == pensioner.id, Suspension.reinstated_at.is_(None))
    ).all()
    for s in open_suspensions:
        s.reinstated_at = now
        s.reinstated_effective_date = today.replace(day=1)
        s.back_pay_months = seasons.months_between(s.effective_date, today)
        audit.record(
            session=session,
            actor_type=actor[0],
            actor_id=actor[1],
            action="pension.reinstated",
            target_type="pensioner",
            target_id=pensioner.id,
            detail={"season_year": s.season_year, "back_pay_months": s.back_pay_months},
        )
    if pensioner.pension_status == PensionStatus.SUSPENDED.value:
        pensioner.pension_status = PensionStatus.ACTIVE.value
        pensioner.status_since = today


def months_paid_after_death(*, session: Session, pensioner: Pensioner, death_date: date, today: date) -> list[str]:
    """Months (YYYY-MM) after the death month up to this month that were paid: not under an open suspension."""
    open_from = session.scalar(
        select(Suspension.effective_date)
        .where(Suspension.pensioner_id == pensioner.id, Suspension.reinstated_at.is_(None))
        .order_by(Suspension.effective_date)
        .limit(1)
    )
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        return []
    months: list[str] = []
    m = seasons.first_of_next_month(death_date)
    while m <= today:
        if open_from is None or m < open_from.replace(day=1):
            months.append(f"{m:%Y-%m}")
        m = seasons.first_of_next_month(m)
    return months


def terminate_on_death(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    death_date: date,
    now: datetime,
    actor_id: int | None,
    source: str,
) -> dict[str, Any]:
    """End the pension from the date of death: stop reminders, cancel open visits, delete face templates, audit."""
    if death_date < pensioner.birth_date:
        raise InvalidDeathDate()
    today = seasons.local_date(now, settings.timezone)
    months = months_paid_after_death(session=session, pensioner=pensioner, death_date=death_date, today=today)
    previous = pensioner.pension_status
    pensioner.death_date = death_date
    pensioner.pension_status = PensionStatus.TERMINATED.value
    pensioner.status_since = death_date
    detail: dict[str, Any] = {
        "reason": "deceased",
        "source": source,
        "death_date": death_date.isoformat(),
        "previous_status": previous,
        "overpaid_months": months,
        "reminders_cancelled": cancel_pending_reminders(session=session, pensioner_id=pensioner.id),
        "home_visits_cancelled": cancel_open_home_visits(
            session=session, pensioner_id=pensioner.id, now=now, reason="deceased"
        ),
        "face_templates_deleted": face_service.delete_templates(
            session=session, pensioner_id=pensioner.id, actor_id=actor_id, reason=face_service.TemplateDeletion.DECEASED
        ),
    }
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="pension.terminated",
        target_type="pensioner",
        target_id=pensioner.id,
        detail=detail,
    )
    return detail


def cancel_pending_reminders(*, session: Session, pensioner_id: int, season_year: int | None = None) -> int:
    """Cancel a person's queued reminders (of one season, or all); returns how many."""
    stmt = update(Notification).where(
        Notification.pensioner_id == pensioner_id,
        Notification.status == NotificationStatus.PENDING.value,
        Notification.kind.startswith(REMINDER_KIND_PREFIX),
    )
    if season_year is not None:
        stmt = stmt.where(Notification.season_year == season_year)
    result = session.execute(
        stmt.values(status=NotificationStatus.CANCELLED.value), execution_options={"synchronize_session": False}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_open_home_visits(
    *, session: Session, pensioner_id: int, now: datetime, reason: str, season_year: int | None = None
) -> int:
    """Cancel a person's open home-visit tasks with a close reason; returns how many."""
    stmt = update(HomeVisitTask).where(
        HomeVisitTask.pensioner_id == pensioner_id, HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value
    )
    if season_year is not None:
        stmt = stmt.where(HomeVisitTask.season_year == season_year)
    result = session.execute(
        stmt.values(status=HomeVisitTaskStatus.CANCELLED.value, closed_at=now, close_reason=reason, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lift_premature_suspensions(
    *, session: Session, where: ColumnElement[bool], season_year: int, suspend_from: date, now: datetime, today: date
) -> list[int]:
    """Reinstate a cohort's open suspensions that took effect before its (now later) suspension date; who, set-based."""
    in_cohort = select(Pensioner.id).where(where)
    premature = and_(
        Suspension.season_year == season_year,
        Suspension.reinstated_at.is_(None),
        Suspension.effective_date < suspend_from,
        Suspension.pensioner_id.in_(in_cohort),
    )
    who = list(session.scalars(select(Suspension.pensioner_id).where(premature)))
    effective_dates = session.scalars(select(Suspension.effective_date).where(premature).distinct()).all()
    for effective in effective_dates:  # one statement per effective date (a sweep's cohort shares one)
        session.execute(
            update(Suspension)
            .where(premature, Suspension.effective_date == effective)
            .values(
                reinstated_at=now,
                reinstated_effective_date=today.replace(day=1),
                back_pay_months=seasons.months_between(effective, today),
            ),
            execution_options={"synchronize_session": False},
        )
    if who:
        session.execute(
            update(Pensioner)
            .where(
                Pensioner.pension_status == PensionStatus.SUSPENDED.value,
                Pensioner.id.in_(
                    select(Suspension.pensioner_id).where(
                        Suspension.season_year == season_year, Suspension.reinstated_at == now
                    )
                ),
                ~exists().where(Suspension.pensioner_id == Pensioner.id, Suspension.reinstated_at.is_(None)),
            )
            .values(pension_status=PensionStatus.ACTIVE.value, status_since=today, updated_at=now),
            execution_options={"synchronize_session": False},
        )
    return who
