"""The one module that changes a pension's status: every transition is checked against one table and audited.

Every channel — the suspension sweep, any certification, a certification's withdrawal, a "deceased" home visit
and its review, the deaths import — calls these functions; none writes `pension_status` itself. The table
`TRANSITIONS` says which path (`Via`) may move a pension from one status to another; docs/seasons.md draws it
with the role behind each path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from certification import seasons
from certification.errors import HoldDecided, InvalidDeathDate, TransitionNotAllowed
from core import audit
from core.settings import Settings
from faces import service as face_service
from models import Certification, HomeVisitTask, Notification, Pensioner, PensionHold, Reinstatement, Suspension, bulk
from models.engine import dialect_insert
from models.enums import HoldDecision, HomeVisitTaskStatus, NotificationStatus, PensionStatus, ReinstatementKind

REMINDER_KIND_PREFIX = "reminder"


# The reinstatement ledger columns a set-based reinstatement writes (a certification's adds certification_id).
_LEDGER_COLUMNS = [
    "kind",
    "pensioner_id",
    "suspension_id",
    "season_year",
    "recorded_at",
    "recorded_by_staff_id",
    "suspended_from",
    "effective_date",
    "back_pay_months",
]


def active_members(
    where: ColumnElement[bool], *, season_year: int, require_uncertified: bool
) -> list[ColumnElement[bool]]:
    """Conditions for a cohort's active pensioners, without a certification for the season when required."""
    conditions = [where, Pensioner.pension_status == PensionStatus.ACTIVE.value]
    if require_uncertified:
        conditions.append(
            ~exists().where(
                Certification.pensioner_id == Pensioner.id,
                Certification.season_year == season_year,
                Certification.withdrawn_at.is_(None),
            )
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


Actor = tuple[str, int | None]  # (actor_type, actor_id) as in the audit log


class Via(StrEnum):
    """The path by which a pension's status changes; each is open to one kind of actor (docs/seasons.md)."""

    SWEEP = "suspension_sweep"  # system: the daily suspension sweep (set-based, one audit event per cohort)
    CERTIFICATION = "certification"  # any certification channel reinstates
    WITHDRAWAL = "certification_withdrawn"  # supervisor: withdraws the certification that lifted a suspension
    DEATH_REPORT = "death_reported"  # the assigned field worker: a "deceased" visit with evidence
    REPORT_REJECTED = "death_report_rejected"  # supervisor (not the reporter): the report was wrong
    DEATH_CONFIRMED = "death_confirmed"  # supervisor (not the reporter): approves the report
    DEATHS_IMPORT = "deaths_import"  # admin: the civil registry's deaths file
    WINDOW_EXTENDED = "window_extended"  # admin: a region's window moved past a suspension (set-based, one event)


_A, _H, _S, _T = (PensionStatus.ACTIVE, PensionStatus.ON_HOLD, PensionStatus.SUSPENDED, PensionStatus.TERMINATED)
TRANSITIONS: dict[tuple[str, str], frozenset[Via]] = {
    (_A, _S): frozenset({Via.SWEEP, Via.WITHDRAWAL}),
    (_S, _A): frozenset({Via.CERTIFICATION, Via.WINDOW_EXTENDED}),
    (_A, _H): frozenset({Via.DEATH_REPORT}),
    (_S, _H): frozenset({Via.DEATH_REPORT}),
    (_H, _A): frozenset({Via.REPORT_REJECTED}),
    (_H, _S): frozenset({Via.REPORT_REJECTED}),
    (_H, _T): frozenset({Via.DEATH_CONFIRMED, Via.DEATHS_IMPORT}),
    (_A, _T): frozenset({Via.DEATHS_IMPORT}),
    (_S, _T): frozenset({Via.DEATHS_IMPORT}),
}


def check_transition(before: str, after: str, via: Via) -> None:
    """Refuse (409) a status change the table does not allow by this path."""
    if via not in TRANSITIONS.get((before, after), frozenset()):
        raise TransitionNotAllowed(before, after)


def _transition(
    *,
    session: Session,
    pensioner: Pensioner,
    to: PensionStatus,
    via: Via,
    actor: Actor,
    since: date,
    action: str,
    detail: dict[str, Any],
) -> None:
    """Change one pension's status by an allowed path, audited with who, what, before and after."""
    before = pensioner.pension_status
    check_transition(before, to, via)
    pensioner.pension_status = to.value
    pensioner.status_since = since
    audit.record(
        session=session,
        actor_type=actor[0],
        actor_id=actor[1],
        action=action,
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"before": before, "after": to.value, "via": via.value, **detail},
    )


def _staff_id(actor: Actor) -> int | None:
    return actor[1] if actor[0] == "staff" else None


def _close_suspension(
    s: Suspension, *, certification_id: int | None, now: datetime, today: date, actor: Actor
) -> Reinstatement:
    """Mark one suspension reinstated (payment resumes this month) and make its ledger row."""
    s.reinstated_at = now
    s.reinstated_effective_date = today.replace(day=1)
    s.back_pay_months = seasons.months_between(s.effective_date, today)
    return Reinstatement(
        kind=ReinstatementKind.REINSTATEMENT.value,
        pensioner_id=s.pensioner_id,
        suspension_id=s.id,
        season_year=s.season_year,
        certification_id=certification_id,
        recorded_at=now,
        recorded_by_staff_id=_staff_id(actor),
        suspended_from=s.effective_date,
        effective_date=s.reinstated_effective_date,
        back_pay_months=s.back_pay_months,
    )


def reinstate(
    *,
    session: Session,
    pensioner: Pensioner,
    now: datetime,
    today: date,
    actor: Actor,
    certification_id: int | None = None,
) -> list[Reinstatement]:
    """Close every open suspension of this person (a ledger row each); back pay runs from its month to this one."""
    open_suspensions = session.scalars(
        select(Suspension)
        .where(Suspension.pensioner_id == pensioner.id, Suspension.reinstated_at.is_(None))
        .with_for_update()
    ).all()
    entries = [
        _close_suspension(s, certification_id=certification_id, now=now, today=today, actor=actor)
        for s in open_suspensions
    ]
    session.add_all(entries)
    session.flush()
    if not entries and pensioner.pension_status != PensionStatus.SUSPENDED.value:
        return entries
    detail = {
        "certification_id": certification_id,
        "reinstatements": [
            {"entry_id": e.id, "season_year": e.season_year, "back_pay_months": e.back_pay_months} for e in entries
        ],
    }
    if pensioner.pension_status == PensionStatus.SUSPENDED.value:
        _transition(
            session=session,
            pensioner=pensioner,
            to=PensionStatus.ACTIVE,
            via=Via.CERTIFICATION,
            actor=actor,
            since=today,
            action="pension.reinstated",
            detail=detail,
        )
    else:  # suspensions closed without a status change (the status was not "suspended")
        status = pensioner.pension_status
        audit.record(
            session=session,
            actor_type=actor[0],
            actor_id=actor[1],
            action="pension.reinstated",
            target_type="pensioner",
            target_id=pensioner.id,
            detail={"before": status, "after": status, "via": Via.CERTIFICATION.value, **detail},
        )
    return entries


def reverse_reinstatements(
    *, session: Session, pensioner: Pensioner, certification_id: int, now: datetime, actor: Actor
) -> list[Reinstatement]:
    """A withdrawn certification: reopen each suspension it lifted, with a reversal row; suspend again."""
    reversal = aliased(Reinstatement)
    lifted = session.scalars(
        select(Reinstatement)
        .where(
            Reinstatement.certification_id == certification_id,
            Reinstatement.kind == ReinstatementKind.REINSTATEMENT.value,
            ~exists().where(reversal.reverses_id == Reinstatement.id),
        )
        .order_by(Reinstatement.id)
    ).all()
    reversals: list[Reinstatement] = []
    for entry in lifted:
        suspension = session.get(Suspension, entry.suspension_id, with_for_update=True)
        if suspension is not None:
            suspension.reinstated_at = None
            suspension.reinstated_effective_date = None
            suspension.back_pay_months = None
        reversals.append(
            Reinstatement(
                kind=ReinstatementKind.REVERSAL.value,
                pensioner_id=entry.pensioner_id,
                suspension_id=entry.suspension_id,
                season_year=entry.season_year,
                certification_id=certification_id,
                reverses_id=entry.id,
                recorded_at=now,
                recorded_by_staff_id=_staff_id(actor),
                suspended_from=entry.suspended_from,
                effective_date=entry.effective_date,
                back_pay_months=-entry.back_pay_months,
            )
        )
    session.add_all(reversals)
    session.flush()
    if reversals:
        _resuspend(session=session, pensioner=pensioner, reversals=reversals, actor=actor)
    return reversals


def _resuspend(*, session: Session, pensioner: Pensioner, reversals: list[Reinstatement], actor: Actor) -> None:
    """The pension is suspended again from the earliest reopened suspension (a held one stays held)."""
    detail = {"reversals": [{"entry_id": r.id, "reverses_id": r.reverses_id} for r in reversals]}
    if pensioner.pension_status == PensionStatus.ACTIVE.value:
        _transition(
            session=session,
            pensioner=pensioner,
            to=PensionStatus.SUSPENDED,
            via=Via.WITHDRAWAL,
            actor=actor,
            since=min(r.suspended_from for r in reversals),
            action="pension.resuspended",
            detail=detail,
        )
    hold = open_hold(session=session, pensioner_id=pensioner.id)
    if hold is not None:
        hold.previous_status = PensionStatus.SUSPENDED.value


def open_hold(*, session: Session, pensioner_id: int) -> PensionHold | None:
    """The person's undecided hold, if any."""
    return session.scalar(
        select(PensionHold).where(PensionHold.pensioner_id == pensioner_id, PensionHold.decision.is_(None))
    )


def hold_on_reported_death(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    death_date: date,
    now: datetime,
    staff_id: int,
    home_visit_id: int | None,
) -> PensionHold:
    """A reported death holds the pension from next month until a supervisor decides; queued reminders stop."""
    if death_date < pensioner.birth_date:
        raise InvalidDeathDate()
    check_transition(pensioner.pension_status, PensionStatus.ON_HOLD, Via.DEATH_REPORT)
    today = seasons.local_date(now, settings.timezone)
    hold = PensionHold(
        pensioner_id=pensioner.id,
        reason="reported_deceased",
        home_visit_id=home_visit_id,
        previous_status=pensioner.pension_status,
        reported_death_date=death_date,
        effective_date=seasons.first_of_next_month(today),
        held_at=now,
        held_by_staff_id=staff_id,
    )
    session.add(hold)
    session.flush()
    _transition(
        session=session,
        pensioner=pensioner,
        to=PensionStatus.ON_HOLD,
        via=Via.DEATH_REPORT,
        actor=("staff", staff_id),
        since=hold.effective_date,
        action="pension.held",
        detail={
            "hold_id": hold.id,
            "reported_death_date": death_date.isoformat(),
            "home_visit_id": home_visit_id,
            "reminders_cancelled": cancel_pending_reminders(session=session, pensioner_id=pensioner.id),
        },
    )
    return hold


def release_hold(
    *, session: Session, settings: Settings, hold: PensionHold, now: datetime, staff_id: int, note: str | None
) -> PensionHold:
    """The report was wrong: the pension is paid again (held months back), suspended only if a suspension is open."""
    if hold.decision is not None:
        raise HoldDecided()
    pensioner = session.get(Pensioner, hold.pensioner_id, with_for_update=True)
    assert pensioner is not None
    today = seasons.local_date(now, settings.timezone)
    suspended = session.scalar(
        select(Suspension.effective_date)
        .where(Suspension.pensioner_id == pensioner.id, Suspension.reinstated_at.is_(None))
        .limit(1)
    )
    hold.decision, hold.decided_at, hold.decided_by_staff_id = HoldDecision.RELEASED.value, now, staff_id
    hold.decision_note = note
    hold.back_pay_months = seasons.months_between(hold.effective_date, today)
    _transition(
        session=session,
        pensioner=pensioner,
        to=PensionStatus.SUSPENDED if suspended else PensionStatus.ACTIVE,
        via=Via.REPORT_REJECTED,
        actor=("staff", staff_id),
        since=suspended or today,
        action="pension.hold_released",
        detail={"hold_id": hold.id, "back_pay_months": hold.back_pay_months, "note": note},
    )
    return hold


def confirm_death(
    *, session: Session, settings: Settings, hold: PensionHold, now: datetime, staff_id: int, note: str | None
) -> dict[str, Any]:
    """A supervisor approves a reported death: the pension ends from the reported date of death."""
    if hold.decision is not None:
        raise HoldDecided()
    pensioner = session.get(Pensioner, hold.pensioner_id, with_for_update=True)
    assert pensioner is not None and hold.reported_death_date is not None
    hold.decision_note = note
    return terminate_on_death(
        session=session,
        settings=settings,
        pensioner=pensioner,
        death_date=hold.reported_death_date,
        now=now,
        actor_id=staff_id,
        source="home_visit",
        via=Via.DEATH_CONFIRMED,
    )


def months_paid_after_death(*, session: Session, pensioner: Pensioner, death_date: date, today: date) -> list[str]:
    """Months (YYYY-MM) after the death month up to this month that were paid: not suspended, not held."""
    open_from = session.scalar(
        select(Suspension.effective_date)
        .where(Suspension.pensioner_id == pensioner.id, Suspension.reinstated_at.is_(None))
        .order_by(Suspension.effective_date)
        .limit(1)
    )
    hold = open_hold(session=session, pensioner_id=pensioner.id)
    stops = [d.replace(day=1) for d in (open_from, hold.effective_date if hold else None) if d is not None]
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        return []
    return _months_paid(death_date, stops, today)


def _months_paid(death_date: date, stops: list[date], today: date) -> list[str]:
    """Months after the death month up to today's, before the first month payment had stopped anyway."""
    months: list[str] = []
    m = seasons.first_of_next_month(death_date)
    while m <= today:
        if not stops or m < min(stops):
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
    via: Via = Via.DEATHS_IMPORT,
) -> dict[str, Any]:
    """End the pension from the date of death: stop reminders, cancel open visits, delete face templates, audit."""
    if death_date < pensioner.birth_date:
        raise InvalidDeathDate()
    check_transition(pensioner.pension_status, PensionStatus.TERMINATED, via)
    today = seasons.local_date(now, settings.timezone)
    months = months_paid_after_death(session=session, pensioner=pensioner, death_date=death_date, today=today)
    hold = open_hold(session=session, pensioner_id=pensioner.id)
    if hold is not None:
        hold.decision, hold.decided_at, hold.decided_by_staff_id = HoldDecision.TERMINATED.value, now, actor_id
    detail: dict[str, Any] = {
        "reason": "deceased",
        "source": source,
        "death_date": death_date.isoformat(),
        "previous_status": pensioner.pension_status,
        "hold_id": hold.id if hold else None,
        "overpaid_months": months,
        "reminders_cancelled": cancel_pending_reminders(session=session, pensioner_id=pensioner.id),
        "home_visits_cancelled": cancel_open_home_visits(
            session=session, pensioner_id=pensioner.id, now=now, reason="deceased"
        ),
        "face_templates_deleted": face_service.delete_templates(
            session=session, pensioner_id=pensioner.id, actor_id=actor_id, reason=face_service.TemplateDeletion.DECEASED
        ),
    }
    pensioner.death_date = death_date
    _transition(
        session=session,
        pensioner=pensioner,
        to=PensionStatus.TERMINATED,
        via=via,
        actor=("staff" if actor_id else "system", actor_id),
        since=death_date,
        action="pension.terminated",
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
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    suspend_from: date,
    now: datetime,
    today: date,
    staff_id: int | None,
) -> list[int]:
    """Reinstate a cohort's open suspensions that took effect before its (now later) suspension date; set-based.

    Each lifted suspension gets a ledger row (back pay from its month); returns who was lifted.
    """
    premature = and_(
        Suspension.season_year == season_year,
        Suspension.reinstated_at.is_(None),
        Suspension.effective_date < suspend_from,
        Suspension.pensioner_id.in_(select(Pensioner.id).where(where, Pensioner.pension_status == _S.value)),
    )
    who = list(session.scalars(select(Suspension.pensioner_id).where(premature)))
    resumes = today.replace(day=1)
    for effective in session.scalars(select(Suspension.effective_date).where(premature).distinct()).all():
        _lift_effective(session, premature, effective, now=now, resumes=resumes, today=today, staff_id=staff_id)
    if who:
        session.execute(
            update(Pensioner)
            .where(
                Pensioner.id.in_(who),
                Pensioner.pension_status == _S.value,
                ~exists().where(Suspension.pensioner_id == Pensioner.id, Suspension.reinstated_at.is_(None)),
            )
            .values(pension_status=_A.value, status_since=today, updated_at=now),
            execution_options={"synchronize_session": False},
        )
    return who


def _lift_effective(
    session: Session,
    premature: ColumnElement[bool],
    effective: date,
    *,
    now: datetime,
    resumes: date,
    today: date,
    staff_id: int | None,
) -> None:
    """Ledger rows, then the suspensions closed, for the premature suspensions of one effective date."""
    months = seasons.months_between(effective, today)
    these = and_(premature, Suspension.effective_date == effective)
    columns = Reinstatement.__table__.c
    session.execute(
        insert(Reinstatement).from_select(
            _LEDGER_COLUMNS,
            select(
                literal(ReinstatementKind.REINSTATEMENT.value, columns.kind.type),
                Suspension.pensioner_id,
                Suspension.id,
                Suspension.season_year,
                literal(now, columns.recorded_at.type),
                literal(staff_id, columns.recorded_by_staff_id.type),
                Suspension.effective_date,
                literal(resumes, columns.effective_date.type),
                literal(months, columns.back_pay_months.type),
            ).where(these),
        )
    )
    session.execute(
        update(Suspension)
        .where(these)
        .values(reinstated_at=now, reinstated_effective_date=resumes, back_pay_months=months),
        execution_options={"synchronize_session": False},
    )


# --- Set-based changes for imports (many people at once; same rules and audit rows as the functions above) ---


def allowed_from(to: PensionStatus, via: Via) -> list[str]:
    """The statuses TRANSITIONS lets `via` move to `to`, for a status condition in SQL."""
    return sorted(before for (before, after), vias in TRANSITIONS.items() if after == to and via in vias)


def reinstate_many(*, session: Session, people: Subquery, now: datetime, today: date, actor: Actor) -> int:
    """`reinstate` for everyone in `people` (pensioner_id, certification_id): ledger rows, audit, status; set-based.

    Returns how many pensions went from suspended to active.
    """
    open_of_people = and_(
        Suspension.reinstated_at.is_(None), Suspension.pensioner_id.in_(select(people.c.pensioner_id))
    )
    resumes = today.replace(day=1)
    dates = session.scalars(select(Suspension.effective_date).where(open_of_people).distinct()).all()
    for effective in dates:
        _reinstate_effective(
            session,
            people,
            and_(open_of_people, Suspension.effective_date == effective),
            months=seasons.months_between(effective, today),
            now=now,
            resumes=resumes,
            actor=actor,
        )
    bulk.analyze(session, "reinstatement")  # the audit below probes it per person by certification id
    suspended = select(Pensioner.id).where(
        Pensioner.pension_status == _S.value, Pensioner.id.in_(select(people.c.pensioner_id))
    )
    # No ledger rows and nobody suspended: nobody to audit (the audit's probe per person cost 1.1 s per million).
    if dates or session.scalar(select(suspended.exists())):
        _audit_reinstated(session=session, people=people, now=now, actor=actor)
    to_active = allowed_from(PensionStatus.ACTIVE, Via.CERTIFICATION)
    result = session.execute(
        update(Pensioner)
        .where(Pensioner.id.in_(select(people.c.pensioner_id)), Pensioner.pension_status.in_(to_active))
        .values(pension_status=_A.value, status_since=today, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _reinstate_effective(
    session: Session,
    people: Subquery,
    these: ColumnElement[bool],
    *,
    months: int,
    now: datetime,
    resumes: date,
    actor: Actor,
) -> None:
    """Ledger rows (quoting each person's certification), then the suspensions closed, for one effective date."""
    columns = Reinstatement.__table__.c
    session.execute(
        insert(Reinstatement).from_select(
            [*_LEDGER_COLUMNS[:4], "certification_id", *_LEDGER_COLUMNS[4:]],
            select(
                literal(ReinstatementKind.REINSTATEMENT.value, columns.kind.type),
                Suspension.pensioner_id,
                Suspension.id,
                Suspension.season_year,
                people.c.certification_id,
                literal(now, columns.recorded_at.type),
                literal(_staff_id(actor), columns.recorded_by_staff_id.type),
                Suspension.effective_date,
                literal(resumes, columns.effective_date.type),
                literal(months, columns.back_pay_months.type),
            )
            .join(people, people.c.pensioner_id == Suspension.pensioner_id)
            .where(these)
            .order_by(Suspension.pensioner_id, Suspension.id),
        )
    )
    session.execute(
        update(Suspension)
        .where(these)
        .values(reinstated_at=now, reinstated_effective_date=resumes, back_pay_months=months),
        execution_options={"synchronize_session": False},
    )


def _audit_reinstated(*, session: Session, people: Subquery, now: datetime, actor: Actor) -> None:
    """One `pension.reinstated` row per suspended person or person with ledger rows, as `reinstate` writes."""
    r = aliased(Reinstatement)
    entry = bulk.json_object(session, entry_id=r.id, season_year=r.season_year, back_pay_months=r.back_pay_months)
    listed: Any = (
        select(bulk.json_array_agg(session, entry, order_by=r.id))
        .where(
            r.certification_id == people.c.certification_id,
            r.kind == ReinstatementKind.REINSTATEMENT.value,
            r.recorded_at == literal(now, Reinstatement.__table__.c.recorded_at.type),
        )
        .correlate(people)
        .scalar_subquery()
    )
    if bulk.is_postgresql(session):
        listed = func.coalesce(listed, literal_column("'[]'::json"))
    has_entries = exists().where(
        Reinstatement.certification_id == people.c.certification_id,
        Reinstatement.recorded_at == literal(now, Reinstatement.__table__.c.recorded_at.type),
    )
    suspended = Pensioner.pension_status == _S.value
    detail = bulk.json_object(
        session,
        before=Pensioner.pension_status,
        after=case((suspended, literal(_A.value)), else_=Pensioner.pension_status),
        via=literal(Via.CERTIFICATION.value),
        certification_id=people.c.certification_id,
        reinstatements=bulk.embed_json(session, listed),
    )
    query = (
        select(Pensioner.id, detail)
        .join(people, people.c.pensioner_id == Pensioner.id)
        .where(or_(suspended, has_entries))
    )
    audit.record_from_select(
        session=session,
        actor_type=actor[0],
        actor_id=actor[1],
        action="pension.reinstated",
        target_type="pensioner",
        query=query,
    )


def terminate_many(
    *,
    session: Session,
    settings: Settings,
    people: Subquery,
    now: datetime,
    actor_id: int | None,
    source: str,
    via: Via = Via.DEATHS_IMPORT,
) -> dict[int, list[str]]:
    """`terminate_on_death` for everyone in `people` (pensioner_id, death_date), set-based; months paid after death."""
    who = select(people.c.pensioner_id)
    befores = allowed_from(PensionStatus.TERMINATED, via)
    refused = session.execute(
        select(Pensioner.pension_status, Pensioner.birth_date > people.c.death_date)
        .join(people, people.c.pensioner_id == Pensioner.id)
        .where(or_(Pensioner.pension_status.not_in(befores), Pensioner.birth_date > people.c.death_date))
        .limit(1)
    ).first()
    if refused is not None:
        raise InvalidDeathDate() if refused[1] else TransitionNotAllowed(refused[0], _T.value)
    today = seasons.local_date(now, settings.timezone)
    facts = _death_facts(session=session, people=people)
    actor: Actor = ("staff" if actor_id else "system", actor_id)
    session.execute(
        update(PensionHold)
        .where(PensionHold.decision.is_(None), PensionHold.pensioner_id.in_(who))
        .values(decision=HoldDecision.TERMINATED.value, decided_at=now, decided_by_staff_id=actor_id),
        execution_options={"synchronize_session": False},
    )
    _cancel_follow_ups_of(session=session, who=who, now=now)
    face_service.delete_templates_many(
        session=session, pensioner_ids=who, actor_id=actor_id, reason=face_service.TemplateDeletion.DECEASED
    )
    months = {
        f.id: _months_paid(f.death_date, [d.replace(day=1) for d in (f.open_from, f.held_from) if d], today)
        for f in facts
    }
    audit.record_many(session=session, events=_terminated_events(facts, months, actor=actor, via=via, source=source))
    session.execute(
        update(Pensioner)
        .where(Pensioner.id == people.c.pensioner_id, Pensioner.pension_status.in_(befores))
        .values(
            pension_status=_T.value, death_date=people.c.death_date, status_since=people.c.death_date, updated_at=now
        ),
        execution_options={"synchronize_session": False},
    )
    return months


def _terminated_events(
    facts: list[Any], months: dict[int, list[str]], *, actor: Actor, via: Via, source: str
) -> list[dict[str, Any]]:
    """The `pension.terminated` audit rows, with the same detail `terminate_on_death` writes."""
    return [
        {
            "actor_type": actor[0],
            "actor_id": actor[1],
            "action": "pension.terminated",
            "target_type": "pensioner",
            "target_id": f.id,
            "detail": {
                "before": f.pension_status,
                "after": _T.value,
                "via": via.value,
                "reason": "deceased",
                "source": source,
                "death_date": f.death_date.isoformat(),
                "previous_status": f.pension_status,
                "hold_id": f.hold_id,
                "overpaid_months": months[f.id],
                "reminders_cancelled": f.reminders,
                "home_visits_cancelled": f.visits,
                "face_templates_deleted": f.templates,
            },
        }
        for f in facts
    ]


def _death_facts(*, session: Session, people: Subquery) -> list[Any]:
    """Per person, before anything changes: status, open suspension and hold, and what is about to be cancelled."""
    pid = people.c.pensioner_id
    count = func.count()
    query = (
        select(
            Pensioner.id,
            Pensioner.pension_status,
            people.c.death_date,
            select(func.min(Suspension.effective_date))
            .where(Suspension.pensioner_id == pid, Suspension.reinstated_at.is_(None))
            .scalar_subquery()
            .label("open_from"),
            select(func.min(PensionHold.id))
            .where(PensionHold.pensioner_id == pid, PensionHold.decision.is_(None))
            .scalar_subquery()
            .label("hold_id"),
            select(func.min(PensionHold.effective_date))
            .where(PensionHold.pensioner_id == pid, PensionHold.decision.is_(None))
            .scalar_subquery()
            .label("held_from"),
            select(count).where(*_pending_reminder(pid)).scalar_subquery().label("reminders"),
            select(count)
            .where(HomeVisitTask.pensioner_id == pid, HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value)
            .scalar_subquery()
            .label("visits"),
            face_service.template_count(pid).label("templates"),
        )
        .join(people, pid == Pensioner.id)
        .order_by(Pensioner.id)
    )
    return list(session.execute(query).all())


def _pending_reminder(pensioner_id: Any) -> list[ColumnElement[bool]]:
    return [
        Notification.pensioner_id == pensioner_id,
        Notification.status == NotificationStatus.PENDING.value,
        Notification.kind.startswith(REMINDER_KIND_PREFIX),
    ]


def _cancel_follow_ups_of(*, session: Session, who: Any, now: datetime) -> None:
    """Every pending reminder and open home-visit task of these people, cancelled (they died)."""
    session.execute(
        update(Notification)
        .where(
            Notification.pensioner_id.in_(who),
            Notification.status == NotificationStatus.PENDING.value,
            Notification.kind.startswith(REMINDER_KIND_PREFIX),
        )
        .values(status=NotificationStatus.CANCELLED.value),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(HomeVisitTask)
        .where(HomeVisitTask.pensioner_id.in_(who), HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value)
        .values(status=HomeVisitTaskStatus.CANCELLED.value, closed_at=now, close_reason="deceased", updated_at=now),
        execution_options={"synchronize_session": False},
    )
