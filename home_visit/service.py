"""Home visits: task rules (set-based), assignment, help requests, visit outcomes and supervisor review."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from certification import service as certification_service
from core import audit
from core.errors import DomainError
from core.settings import Settings
from faces import evidence as evidence_service
from faces import service as face_service
from home_visit import errors
from messaging import outbox
from models import (
    AuditEvent,
    Certification,
    HomeVisit,
    HomeVisitTask,
    Pensioner,
    Region,
    StaffUser,
    VerificationAttempt,
)
from models.engine import dialect_insert
from models.enums import (
    CertificationChannel,
    HomeVisitReason,
    HomeVisitTaskStatus,
    PensionStatus,
    RegionLevel,
    StaffRole,
    TemplateSource,
    VisitOutcome,
)
from registry import regions as region_service
from verification.image import sniff_format

OPEN = HomeVisitTaskStatus.OPEN.value
FORM_SCAN_TYPES = {"PDF": "application/pdf", "JPEG": "image/jpeg", "PNG": "image/png"}


# ---------------------------------------------------------------------------------------------- rules


@dataclass
class SweepResult:
    """Counters of one home-visit sweep."""

    created: Counter[str] = field(default_factory=Counter)
    assigned: int = 0
    escalated: int = 0

    def as_dict(self) -> dict[str, int]:
        """Flat counters for the sweep registry."""
        out = {"home_visit_tasks_created": sum(self.created.values())}
        out.update({f"home_visit_tasks_created_{k}": v for k, v in sorted(self.created.items())})
        out["home_visit_tasks_assigned"] = self.assigned
        out["home_visit_tasks_escalated"] = self.escalated
        return out


def due_date_for(*, today: date, close_date: date, settings: Settings) -> date:
    """A new task's due date: a few days out, but before the close (never before today)."""
    return max(today, min(today + timedelta(days=settings.home_visit_due_days), close_date - timedelta(days=1)))


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
    uncertified = ~exists().where(Certification.pensioner_id == Pensioner.id, Certification.season_year == season_year)
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
        Pensioner.pension_status != PensionStatus.TERMINATED.value,
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
    if settings.season_policy == "rolling":
        lead = max(settings.home_visit_bedridden_days, settings.home_visit_age_days)
        return seasons.rolling_cohorts(
            session=session,
            settings=settings,
            due_from=today - timedelta(days=settings.season_grace_days),
            due_to=today + timedelta(days=lead),
        )
    season = seasons.current_season(session=session, today=today)
    return seasons.window_cohorts(session=session, season=season) if season else []


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
        rules: list[tuple[str, ColumnElement[bool] | None]] = [
            (
                HomeVisitReason.BEDRIDDEN.value,
                or_(Pensioner.bedridden.is_(True), Pensioner.limited_mobility.is_(True))
                if today >= close - timedelta(days=settings.home_visit_bedridden_days)
                else None,
            ),
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


# ----------------------------------------------------------------------------------------- assignment


def _chain(p: Any) -> list[str]:
    """Residence community first, then town, district, city (most specific first)."""
    return [c for c in (p.region_code, p.town_code, p.district_code, p.city_code) if c]


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


def assign_unassigned(*, session: Session, now: datetime) -> int:
    """Give every open unassigned task to a covering field worker, balancing open tasks; returns how many."""
    rows = session.execute(
        select(
            HomeVisitTask.id, Pensioner.region_code, Pensioner.town_code, Pensioner.district_code, Pensioner.city_code
        )
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(HomeVisitTask.status == OPEN, HomeVisitTask.assigned_staff_id.is_(None))
        .order_by(HomeVisitTask.due_date, HomeVisitTask.id)
    ).all()
    if not rows:
        return 0
    by_region, load = _field_staff_load(session)
    updates = []
    for row in rows:
        staff_id = _pick(_chain(row), by_region, load)
        if staff_id is not None:
            load[staff_id] += 1
            updates.append({"id": row.id, "assigned_staff_id": staff_id, "updated_at": now})
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
    return len(updates)


def _assign_one(*, session: Session, task: HomeVisitTask, pensioner: Pensioner) -> int | None:
    by_region, load = _field_staff_load(session)
    task.assigned_staff_id = _pick(_chain(pensioner), by_region, load)
    return task.assigned_staff_id


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


def sweep(*, session: Session, settings: Settings, now: datetime) -> SweepResult:
    """The daily home-visit sweep: create due tasks, assign them, escalate overdue ones."""
    result = SweepResult()
    result.created = create_due_tasks(session=session, settings=settings, now=now)
    result.assigned = assign_unassigned(session=session, now=now)
    result.escalated = escalate_overdue(session=session, settings=settings, now=now)
    session.flush()
    return result


def reassign(*, session: Session, task: HomeVisitTask, staff_id: int, actor: StaffUser, now: datetime) -> HomeVisitTask:
    """A supervisor gives an open task to another field worker whose jurisdiction covers the pensioner."""
    if task.status != OPEN:
        raise errors.TaskClosed()
    worker = session.get(StaffUser, staff_id)
    pensioner = session.get(Pensioner, task.pensioner_id)
    assert pensioner is not None
    if (
        worker is None
        or not worker.active
        or worker.role != StaffRole.FIELD.value
        or worker.region_code not in _chain(pensioner)
    ):
        raise errors.InvalidAssignee()
    previous = task.assigned_staff_id
    task.assigned_staff_id = worker.id
    task.escalated_at = None
    task.updated_at = now
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=actor.id,
        action="home_visit.task_reassigned",
        target_type="home_visit_task",
        target_id=task.id,
        detail={"from": previous, "to": worker.id},
    )
    session.flush()
    return task


# -------------------------------------------------------------------------------------- help requests


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
    if pensioner.pension_status == PensionStatus.TERMINATED.value:
        raise errors.PensionTerminated()
    today = seasons.local_date(now, settings.timezone)
    window, deadline = seasons.deadline_for(session=session, settings=settings, pensioner=pensioner, today=today)
    if window is None or deadline is None:
        raise errors.NoOpenSeason()
    year = window.season_year
    if session.scalar(
        select(Certification.id).where(Certification.pensioner_id == pensioner.id, Certification.season_year == year)
    ):
        raise errors.AlreadyCertified()
    due = due_date_for(today=today, close_date=deadline, settings=settings)
    task = _task_for(session, pensioner.id, year)
    action = "home_visit.requested"
    if task is None:
        task = HomeVisitTask(
            pensioner_id=pensioner.id,
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
            task = _task_for(session, pensioner.id, year)
            assert task is not None
    elif task.status == OPEN:
        action = "home_visit.request_repeated"
    else:
        action = "home_visit.reopened"
        task.status, task.reason, task.due_date = OPEN, HomeVisitReason.HELP_REQUEST.value, due
        task.closed_at = task.close_reason = task.escalated_at = None
        task.note = note or task.note
    if task.assigned_staff_id is None:
        _assign_one(session=session, task=task, pensioner=pensioner)
    session.flush()
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


def _task_for(session: Session, pensioner_id: int, year: int) -> HomeVisitTask | None:
    return session.scalar(
        select(HomeVisitTask)
        .where(HomeVisitTask.pensioner_id == pensioner_id, HomeVisitTask.season_year == year)
        .execution_options(populate_existing=True)
    )


# ---------------------------------------------------------------------------------------------- reads


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


def address_names(*, session: Session, pensioners: list[Pensioner]) -> dict[int, str]:
    """Each pensioner's address as the chain of region names, city first (one query)."""
    codes = {c for p in pensioners for c in _chain(p)}
    names = {
        code: name for code, name in session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    }
    return {p.id: "".join(names[c] for c in reversed(_chain(p)) if c in names) for p in pensioners}


def region_name(*, session: Session, code: str | None) -> str | None:
    """A region's name, if known."""
    return session.scalar(select(Region.name).where(Region.code == code)) if code else None


# ---------------------------------------------------------------------------------------------- visits


@dataclass
class VisitInput:
    """What the field app sends with a visit."""

    outcome: str
    visited_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo: bytes | None = None
    form_scan: bytes | None = None
    death_date: date | None = None
    new_region_code: str | None = None
    next_due_date: date | None = None
    consent_recorded: bool = False
    note: str | None = None

    def fingerprint_parts(self) -> list[str]:
        """The request's meaningful parts, for the idempotency fingerprint."""
        return [
            self.outcome,
            self.visited_at.isoformat() if self.visited_at else "",
            repr(self.latitude),
            repr(self.longitude),
            _sha(self.photo) or "",
            _sha(self.form_scan) or "",
            self.death_date.isoformat() if self.death_date else "",
            self.new_region_code or "",
            self.next_due_date.isoformat() if self.next_due_date else "",
            str(self.consent_recorded),
            self.note or "",
        ]


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data else None


def validate_visit(*, data: VisitInput, settings: Settings, now: datetime) -> None:
    """Refuse bad input before anything is written (422 with a stable code)."""
    if data.outcome not in {o.value for o in VisitOutcome}:
        raise errors.InvalidOutcome()
    if (data.latitude is None) != (data.longitude is None):
        raise errors.GpsIncomplete()
    if (
        data.latitude is not None
        and data.longitude is not None
        and (not -90 <= data.latitude <= 90 or not -180 <= data.longitude <= 180)
    ):
        raise errors.GpsOutOfRange()
    if data.visited_at is not None and data.visited_at > now + timedelta(minutes=10):
        raise errors.VisitedAtInFuture()
    if data.form_scan is not None and form_scan_type(data.form_scan) is None:
        raise errors.InvalidFormScan()
    if data.photo is not None and sniff_format(data.photo) is None:
        raise errors.InvalidPhoto()
    if data.outcome == VisitOutcome.CERTIFIED.value:
        if data.photo is None:
            raise errors.PhotoRequired()
        if data.form_scan is None:
            raise errors.FormScanRequired()
    if data.outcome == VisitOutcome.DECEASED.value and data.death_date is None:
        raise errors.DeathDateRequired()
    if data.death_date is not None and data.death_date > seasons.local_date(now, settings.timezone):
        raise errors.DeathDateInFuture()


def form_scan_type(data: bytes) -> str | None:
    """MIME type of a form scan from its magic bytes (PDF, JPEG, PNG), else None."""
    if data.startswith(b"%PDF-"):
        return FORM_SCAN_TYPES["PDF"]
    fmt = sniff_format(data)
    return FORM_SCAN_TYPES[fmt] if fmt else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def address_point(*, session: Session, region_code: str) -> tuple[float, float] | None:
    """Coordinates of the pensioner's community, or of its nearest ancestor that has them."""
    code: str | None = region_code
    for _ in range(6):
        if code is None:
            return None
        region = session.get(Region, code)
        if region is None:
            return None
        if region.latitude is not None and region.longitude is not None:
            return region.latitude, region.longitude
        code = region.parent_code
    return None


def gps_flags(
    *,
    settings: Settings,
    latitude: float | None,
    longitude: float | None,
    address: tuple[float, float] | None = None,
) -> list[str]:
    """Review reasons from the GPS fix: missing, outside the city, or farther than allowed from the address."""
    if latitude is None or longitude is None:
        return ["gps_missing"]
    box = settings.home_visit_bbox
    if box and not (box[0] <= latitude <= box[2] and box[1] <= longitude <= box[3]):
        return ["gps_outside_city"]
    if address is not None and distance_km(latitude, longitude, *address) > settings.home_visit_gps_max_km:
        return ["gps_far_from_address"]
    return []


@dataclass
class PhotoCheck:
    """What the visit photo showed."""

    decision: str  # match / retry / no_match / no_face … / enrolled / not_enrolled
    distance: float | None = None
    attempt_id: int | None = None
    template_enrolled: bool = False
    reasons: list[str] = field(default_factory=list)


def check_photo(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    photo: bytes,
    staff_id: int,
    now: datetime,
    season_year: int | None,
    enrol_if_missing: bool,
) -> PhotoCheck:
    """Match the visit photo against the templates; with none, enrol it when consent was recorded."""
    try:
        outcome = face_service.verify_photo(
            session=session,
            settings=settings,
            pensioner_id=pensioner_id,
            photo=photo,
            channel=CertificationChannel.HOME_VISIT.value,
            staff_id=staff_id,
            now=now,
            season_year=season_year,
        )
    except face_service.NotEnrolled:
        if not enrol_if_missing:
            return PhotoCheck("not_enrolled", reasons=["no_template"])
        try:
            face_service.enrol(
                session=session,
                settings=settings,
                pensioner_id=pensioner_id,
                photos=[photo],
                source=TemplateSource.HOME_VISIT.value,
                consent_method="home_visit_form",
                staff_id=staff_id,
                now=now,
            )
        except DomainError as exc:
            return PhotoCheck("not_enrolled", reasons=["no_template", exc.code])
        return PhotoCheck("enrolled", template_enrolled=True, reasons=["no_template"])
    except face_service.FaceRejected as exc:
        return PhotoCheck(exc.code, reasons=[exc.code])
    attempt = outcome.attempt
    return PhotoCheck(attempt.decision, attempt.distance, attempt.id, reasons=list(outcome.reasons))


def record_visit(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
) -> HomeVisit:
    """Record one visit and apply its outcome; flags it for supervisor review when the evidence is weak."""
    validate_visit(data=data, settings=settings, now=now)
    if task.status != OPEN:
        raise errors.TaskClosed()
    pensioner = session.get(Pensioner, task.pensioner_id, with_for_update=True)
    assert pensioner is not None
    review: list[str] = gps_flags(
        settings=settings,
        latitude=data.latitude,
        longitude=data.longitude,
        address=address_point(session=session, region_code=pensioner.region_code),
    )
    visit = HomeVisit(
        task_id=task.id,
        staff_id=staff.id,
        visited_at=data.visited_at or now,
        recorded_at=now,
        outcome=data.outcome,
        latitude=data.latitude,
        longitude=data.longitude,
        detail={"note": data.note} if data.note else {},
    )
    detail: dict[str, Any] = dict(visit.detail or {})
    if data.form_scan is not None:
        content_type = form_scan_type(data.form_scan)
        assert content_type is not None
        scan = evidence_service.store_evidence(
            session=session,
            settings=settings,
            pensioner_id=pensioner.id,
            kind="visit_form_scan",
            data=data.form_scan,
            content_type=content_type,
            now=now,
        )
        visit.form_scan_sha256 = _sha(data.form_scan)
        visit.form_scan_evidence_id = scan.id
    if data.photo is not None:
        certifying = data.outcome == VisitOutcome.CERTIFIED.value
        check = check_photo(
            session=session,
            settings=settings,
            pensioner_id=pensioner.id,
            photo=data.photo,
            staff_id=staff.id,
            now=now,
            season_year=task.season_year,
            enrol_if_missing=certifying and data.consent_recorded,
        )
        photo_ev = evidence_service.store_evidence(
            session=session,
            settings=settings,
            pensioner_id=pensioner.id,
            kind="visit_photo",
            data=data.photo,
            content_type="image/jpeg" if sniff_format(data.photo) == "JPEG" else "image/png",
            now=now,
        )
        visit.photo_sha256 = _sha(data.photo)
        visit.photo_distance = check.distance
        visit.photo_decision = check.decision
        detail.update(
            photo_evidence_id=photo_ev.id,
            photo_attempt_id=check.attempt_id,
            photo_reasons=check.reasons,
            template_enrolled=check.template_enrolled,
        )
        if certifying and check.decision != "match":
            review.append("photo_enrolled_unmatched" if check.template_enrolled else f"photo_{check.decision}")
    visit.detail = detail
    session.add(visit)
    session.flush()
    effect = _apply_outcome(
        session=session, settings=settings, task=task, pensioner=pensioner, visit=visit, staff=staff, data=data, now=now
    )
    if data.outcome == VisitOutcome.REFUSED.value:
        review.append("refused")
    visit.needs_review = bool(review)
    visit.review_reasons = review or None
    visit.detail = {**detail, "effect": effect}
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="home_visit.recorded",
        target_type="home_visit",
        target_id=visit.id,
        detail={"task_id": task.id, "outcome": data.outcome, "review_reasons": review, **effect},
    )
    session.flush()
    return visit


def _close(task: HomeVisitTask, *, now: datetime, status: str, reason: str) -> None:
    task.status, task.closed_at, task.close_reason, task.updated_at = status, now, reason, now


def _apply_outcome(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    pensioner: Pensioner,
    visit: HomeVisit,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
) -> dict[str, Any]:
    outcome = VisitOutcome(data.outcome)
    today = seasons.local_date(now, settings.timezone)
    done = HomeVisitTaskStatus.DONE.value
    if outcome is VisitOutcome.CERTIFIED:
        cert = certification_service.record_certification(
            session=session,
            pensioner_id=pensioner.id,
            channel=CertificationChannel.HOME_VISIT.value,
            now=visit.visited_at if visit.visited_at <= now else now,
            staff_id=staff.id,
            home_visit_id=visit.id,
            office_region_code=staff.region_code,
            source="home_visit",
            evidence={"home_visit_id": visit.id, "photo_decision": visit.photo_decision},
            settings=settings,
        )
        _close(task, now=now, status=done, reason="certified")
        return {"certification_id": cert.id}
    if outcome is VisitOutcome.DECEASED:
        assert data.death_date is not None
        death = lifecycle.terminate_on_death(
            session=session,
            settings=settings,
            pensioner=pensioner,
            death_date=data.death_date,
            now=now,
            actor_id=staff.id,
            source="home_visit",
        )
        _close(task, now=now, status=done, reason="deceased")
        return {
            "pension_terminated": True,
            "death_date": data.death_date.isoformat(),
            "overpaid_months": death["overpaid_months"],
        }
    if outcome in (VisitOutcome.NOT_AT_HOME, VisitOutcome.HOSPITALISED):
        next_due = data.next_due_date or today + timedelta(days=settings.home_visit_revisit_days)
        if next_due < today:
            raise errors.NextDueDateInPast()
        task.due_date, task.escalated_at, task.updated_at = next_due, None, now
        return {"next_due_date": next_due.isoformat()}
    if outcome is VisitOutcome.MOVED:
        return _moved(
            session=session,
            task=task,
            pensioner=pensioner,
            staff=staff,
            data=data,
            now=now,
            today=today,
            settings=settings,
        )
    _close(task, now=now, status=done, reason="refused")
    return {}


def _moved(
    *,
    session: Session,
    task: HomeVisitTask,
    pensioner: Pensioner,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
    today: date,
    settings: Settings,
) -> dict[str, Any]:
    """Within the city: the residence and the task move to the new community; otherwise the paying region is told."""
    code = region_service.normalise_code(data.new_region_code) if data.new_region_code else None
    region = session.get(Region, code) if code else None
    if region is not None and region.level == RegionLevel.COMMUNITY.value:
        old = pensioner.region_code
        town = session.get(Region, region.parent_code) if region.parent_code else None
        district = session.get(Region, town.parent_code) if town and town.parent_code else None
        pensioner.region_code = region.code
        pensioner.town_code = town.code if town else None
        pensioner.district_code = district.code if district else None
        pensioner.city_code = district.parent_code if district else pensioner.city_code
        audit.record(
            session=session,
            actor_type="staff",
            actor_id=staff.id,
            action="pensioner.residence_changed",
            target_type="pensioner",
            target_id=pensioner.id,
            detail={"from": old, "to": region.code, "by": "home_visit", "task_id": task.id},
        )
        session.flush()
        previous = task.assigned_staff_id
        task.assigned_staff_id = None
        _assign_one(session=session, task=task, pensioner=pensioner)
        task.due_date = today + timedelta(days=settings.home_visit_revisit_days)
        task.escalated_at, task.updated_at = None, now
        return {"moved_to": region.code, "reassigned_from": previous, "reassigned_to": task.assigned_staff_id}
    _close(task, now=now, status=HomeVisitTaskStatus.CANCELLED.value, reason="moved_away")
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="home_visit.paying_region_notified",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"paying_region_code": pensioner.paying_region_code, "new_region_code": code, "task_id": task.id},
    )
    return {"moved_away": True, "new_region_code": code, "paying_region_code": pensioner.paying_region_code}


# ---------------------------------------------------------------------------------------------- review


def review_queue(
    *, session: Session, region: Region, limit: int = 200
) -> list[tuple[HomeVisit, HomeVisitTask, Pensioner]]:
    """Visits awaiting supervisor review in a jurisdiction, oldest first."""
    stmt = (
        select(HomeVisit, HomeVisitTask, Pensioner)
        .join(HomeVisitTask, HomeVisitTask.id == HomeVisit.task_id)
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(HomeVisit.needs_review.is_(True), region_service.pensioner_scope(region))
        .order_by(HomeVisit.recorded_at, HomeVisit.id)
        .limit(limit)
    )
    return [(v, t, p) for v, t, p in session.execute(stmt).all()]


def review_visit(
    *,
    session: Session,
    settings: Settings,
    visit_id: int,
    region: Region,
    reviewer: StaffUser,
    decision: str,
    note: str | None,
    now: datetime,
) -> HomeVisit:
    """Accept a flagged visit, or reject it: a rejected certification is withdrawn and the task reopened."""
    visit = session.scalar(
        select(HomeVisit)
        .join(HomeVisitTask, HomeVisitTask.id == HomeVisit.task_id)
        .where(HomeVisit.id == visit_id, task_scope(region))
        .with_for_update()
    )
    if visit is None:
        raise errors.VisitNotFound()
    if not visit.needs_review:
        raise errors.NotAwaitingReview()
    task = session.get(HomeVisitTask, visit.task_id)
    assert task is not None
    effect: dict[str, Any] = {}
    if decision == "rejected" and visit.outcome == VisitOutcome.CERTIFIED.value:
        cert = session.scalar(select(Certification).where(Certification.home_visit_id == visit.id))
        if cert is not None:
            effect["certification_withdrawn"] = cert.id
            session.delete(cert)
        today = seasons.local_date(now, settings.timezone)
        task.status, task.closed_at, task.close_reason, task.escalated_at = OPEN, None, None, None
        task.due_date = today + timedelta(days=settings.home_visit_revisit_days)
        task.updated_at = now
        effect["task_reopened"] = task.id
    visit.needs_review = False
    visit.reviewed_by_staff_id = reviewer.id
    visit.reviewed_at = now
    visit.detail = {**(visit.detail or {}), "review": {"decision": decision, "note": note, **effect}}
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=reviewer.id,
        action=f"home_visit.review_{decision}",
        target_type="home_visit",
        target_id=visit.id,
        detail={"note": note, "reasons": visit.review_reasons, **effect},
    )
    session.flush()
    return visit
