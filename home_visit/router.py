"""HTTP routes of home visits: field worker's task list, form, visits; help requests; supervisor review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from certification import seasons
from core import audit
from core.clock import NowDep
from core.deps import CurrentPensioner, FieldStaff, OfficeStaff, Offset, RowId, SessionDep, SettingsDep, SupervisorStaff
from core.idempotency import check_key, fingerprint, run_once
from core.settings import Settings
from core.uploads import read_limited
from home_visit import addresses as address_service
from home_visit import assignment as assignment_service
from home_visit import form_pdf, labels
from home_visit import help_requests as help_request_service
from home_visit import review as review_service
from home_visit import tasks as task_service
from home_visit import visits as visit_service
from home_visit.schemas import (
    AssignIn,
    HelpRequestIn,
    HelpRequestOut,
    HomeVisitStatusOut,
    OutcomeOut,
    ReviewIn,
    ReviewItem,
    TakeIn,
    TaskOut,
    VisitOut,
)
from models import HomeVisit, HomeVisitTask, Pensioner, Region
from models.enums import (
    HomeVisitReason,
    HomeVisitTaskStatus,
    PhotoMissingReason,
    PositionMissingReason,
    StaffRole,
    VisitOutcome,
)
from registry.deps import PensionerInScope, staff_region

router = APIRouter(tags=["home visits"])
RegionDep = Annotated[Region, Depends(staff_region)]
OUTCOME_FIELD = {"enum": [o.value for o in VisitOutcome], "description": "GET /api/v1/home-visits/outcomes"}


def _mask(national_id: str) -> str:
    return national_id[:6] + "********" + national_id[-4:]


def _task_out(
    task: HomeVisitTask, p: Pensioner, address: str, today: date, target: tuple[float, float, str] | None = None
) -> TaskOut:
    zh, en = labels.reason_label(task.reason)
    return TaskOut(
        id=task.id,
        season_year=task.season_year,
        status=task.status,
        reason=task.reason,
        reason_label=zh,
        reason_label_en=en,
        due_date=task.due_date,
        overdue=task.status == task_service.OPEN and task.due_date < today,
        escalated_at=task.escalated_at,
        assigned_staff_id=task.assigned_staff_id,
        closed_at=task.closed_at,
        close_reason=task.close_reason,
        pensioner_id=p.id,
        name=p.name,
        national_id_masked=_mask(p.national_id),
        sex=p.sex,
        birth_date=p.birth_date,
        bedridden=p.bedridden,
        limited_mobility=p.limited_mobility,
        address=address,
        address_street=p.address_street,
        address_house=p.address_house,
        address_landmark=p.address_landmark,
        target_latitude=target[0] if target else None,
        target_longitude=target[1] if target else None,
        target_source=target[2] if target else None,
        region_code=p.region_code,
        phone=p.phone,
        family_phone=p.family_phone,
        note=task.note,
    )


def _visit_out(visit: HomeVisit, task: HomeVisitTask) -> VisitOut:
    return VisitOut(
        id=visit.id,
        task_id=visit.task_id,
        outcome=visit.outcome,
        visited_at=visit.visited_at,
        recorded_at=visit.recorded_at,
        staff_id=visit.staff_id,
        latitude=visit.latitude,
        longitude=visit.longitude,
        position_accuracy_m=visit.position_accuracy_m,
        position_missing_reason=visit.position_missing_reason,
        photo_missing_reason=visit.photo_missing_reason,
        photo_decision=visit.photo_decision,
        photo_distance=visit.photo_distance,
        form_scan_sha256=visit.form_scan_sha256,
        needs_review=visit.needs_review,
        review_reasons=visit.review_reasons,
        task_status=task.status,
        task_due_date=task.due_date,
        effect=(visit.detail or {}).get("effect", {}),
    )


@router.get("/home-visits", response_model=list[TaskOut])
def list_tasks(
    staff: FieldStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
    status: Annotated[str | None, Query(pattern="^(open|done|cancelled)$")] = "open",
    escalated: bool | None = None,
    unassigned: bool = False,
    mine: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Offset = 0,
) -> list[TaskOut]:
    """Field workers: my tasks by due date. Supervisors: every task in the jurisdiction (filters: escalated, unassigned)."""
    only_mine = staff.role == StaffRole.FIELD.value if mine is None else mine
    rows = task_service.list_tasks(
        session=session,
        region=region,
        assigned_to=staff.id if only_mine else None,
        status=status,
        escalated=escalated,
        unassigned=unassigned,
        limit=limit,
        offset=offset,
    )
    addresses = address_service.address_names(session=session, pensioners=[p for _, p in rows])
    today = seasons.local_date(now, settings.timezone)
    return [
        _task_out(t, p, addresses[p.id], today, address_service.target_point(session=session, pensioner=p))
        for t, p in rows
    ]


@router.get("/home-visits/outcomes", response_model=list[OutcomeOut])
def outcomes(staff: FieldStaff) -> list[OutcomeOut]:
    """The published list of visit outcomes, with labels and what each needs."""
    return [
        OutcomeOut(
            value=o,
            label=labels.OUTCOMES[o.value][0],
            label_en=labels.OUTCOMES[o.value][1],
            needs_photo=o is VisitOutcome.CERTIFIED,
            needs_form_scan=o is VisitOutcome.CERTIFIED,
            needs_death_date=o is VisitOutcome.DECEASED,
            needs_new_region=o is VisitOutcome.MOVED,
        )
        for o in VisitOutcome
    ]


@router.get("/home-visits/review", response_model=list[ReviewItem])
def review_queue(staff: SupervisorStaff, session: SessionDep, region: RegionDep) -> list[ReviewItem]:
    """Visits whose photo did not match, whose GPS is missing or outside the city, or that were refused."""
    return [
        ReviewItem(visit=_visit_out(v, t), pensioner_id=p.id, name=p.name, national_id_masked=_mask(p.national_id))
        for v, t, p in review_service.review_queue(session=session, region=region)
    ]


@router.get(
    "/home-visits/{task_id}/form.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def form(task_id: RowId, staff: FieldStaff, session: SessionDep, settings: SettingsDep, region: RegionDep) -> Response:
    """The assisted-certification form, prefilled, to print or show on the tablet."""
    task = task_service.get_task(session=session, task_id=task_id, region=region)
    data = form_pdf.form_data(session=session, settings=settings, task=task)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="home_visit.form_printed",
        target_type="home_visit_task",
        target_id=task.id,
    )
    return Response(
        form_pdf.render(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="home-visit-{task.id}.pdf"'},
    )


def _upload(upload: UploadFile | None, settings: Settings) -> bytes | None:
    """An uploaded file's bytes within the upload limit, or None."""
    return read_limited(upload, settings.max_upload_bytes) if upload is not None else None


def _local(value: datetime | None, tz: str) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(tz))


MissingEvidence = dict[str, Any]


def missing_evidence(
    position_accuracy_m: Annotated[float | None, Form()] = None,
    position_missing_reason: Annotated[
        str | None, Form(max_length=24, json_schema_extra={"enum": [r.value for r in PositionMissingReason]})
    ] = None,
    photo_missing_reason: Annotated[
        str | None, Form(max_length=24, json_schema_extra={"enum": [r.value for r in PhotoMissingReason]})
    ] = None,
) -> MissingEvidence:
    """The device's accuracy and why a position or photo is missing (the field page sends them)."""
    return {
        "position_accuracy_m": position_accuracy_m,
        "position_missing_reason": position_missing_reason or None,
        "photo_missing_reason": photo_missing_reason or None,
    }


@router.post("/home-visits/{task_id}/visits", response_model=VisitOut, status_code=201)
def record_visit(
    task_id: RowId,
    staff: FieldStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
    outcome: Annotated[str, Form(json_schema_extra=OUTCOME_FIELD)],
    missing: Annotated[MissingEvidence, Depends(missing_evidence)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    visited_at: Annotated[datetime | None, Form()] = None,
    latitude: Annotated[float | None, Form()] = None,
    longitude: Annotated[float | None, Form()] = None,
    death_date: Annotated[date | None, Form()] = None,
    new_region_code: Annotated[str | None, Form(max_length=12)] = None,
    next_due_date: Annotated[date | None, Form()] = None,
    consent_recorded: Annotated[bool, Form()] = False,
    note: Annotated[str | None, Form(max_length=1000)] = None,
    photo: Annotated[UploadFile | None, File()] = None,
    form_scan: Annotated[UploadFile | None, File()] = None,
    death_certificate: Annotated[UploadFile | None, File()] = None,
    family_statement: Annotated[UploadFile | None, File()] = None,
    document_photo: Annotated[UploadFile | None, File()] = None,
) -> JSONResponse:
    """Record a visit: only the assignee; offline retries with the same Idempotency-Key get the first answer."""
    key = check_key(idempotency_key)
    task = task_service.get_task(session=session, task_id=task_id, region=region, for_update=True)
    data = visit_service.VisitInput(
        outcome=outcome,
        visited_at=_local(visited_at, settings.timezone),
        latitude=latitude,
        longitude=longitude,
        photo=_upload(photo, settings),
        form_scan=_upload(form_scan, settings),
        death_date=death_date,
        new_region_code=new_region_code,
        next_due_date=next_due_date,
        consent_recorded=consent_recorded,
        note=note,
        death_certificate=_upload(death_certificate, settings),
        family_statement=_upload(family_statement, settings),
        document_photo=_upload(document_photo, settings),
        **missing,
    )
    visit_service.validate_visit(data=data, settings=settings, now=now)

    def action() -> tuple[int, dict[str, object]]:
        visit = visit_service.record_visit(
            session=session, settings=settings, task=task, staff=staff, data=data, now=now
        )
        return 201, _visit_out(visit, task).model_dump(mode="json")

    status, body, replayed = run_once(
        session=session,
        scope=f"home_visit:{task.id}",
        key=key,
        request_hash=fingerprint(str(task.id), str(staff.id), *data.fingerprint_parts()),
        action=action,
    )
    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None)


@router.post("/home-visits/{task_id}/assign", response_model=TaskOut)
def assign(
    task_id: RowId,
    body: AssignIn,
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
) -> TaskOut:
    """Give a task to another field worker covering the pensioner."""
    task = task_service.get_task(session=session, task_id=task_id, region=region, for_update=True)
    assignment_service.reassign(
        session=session,
        settings=settings,
        task=task,
        staff_id=body.staff_id,
        actor=staff,
        now=now,
        appointment_date=body.appointment_date,
    )
    p = session.get(Pensioner, task.pensioner_id)
    assert p is not None
    address = address_service.address_names(session=session, pensioners=[p])[p.id]
    return _task_out(task, p, address, seasons.local_date(now, settings.timezone))


@router.post("/home-visits/{task_id}/take", response_model=TaskOut)
def take(
    task_id: RowId,
    staff: FieldStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
    body: TakeIn | None = None,
) -> TaskOut:
    """Give an open task of my jurisdiction to myself before visiting (audited with who had it); the appointment is texted."""
    task = task_service.get_task(session=session, task_id=task_id, region=region, for_update=True)
    assignment_service.take_over(
        session=session,
        settings=settings,
        task=task,
        staff=staff,
        now=now,
        appointment_date=body.appointment_date if body else None,
    )
    p = session.get(Pensioner, task.pensioner_id)
    assert p is not None
    address = address_service.address_names(session=session, pensioners=[p])[p.id]
    return _task_out(task, p, address, seasons.local_date(now, settings.timezone))


@router.post("/home-visits/{visit_id}/review", response_model=VisitOut)
def review(
    visit_id: RowId,
    body: ReviewIn,
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
) -> VisitOut:
    """Accept a flagged visit (a held certification, death or transfer is carried out) or reject it (undone, reopened)."""
    visit = review_service.review_visit(
        session=session,
        settings=settings,
        visit_id=visit_id,
        region=region,
        reviewer=staff,
        decision=body.decision,
        note=body.note,
        now=now,
    )
    task = session.get(HomeVisitTask, visit.task_id)
    assert task is not None
    return _visit_out(visit, task)


def _help_out(task: HomeVisitTask) -> HelpRequestOut:
    return HelpRequestOut(
        task_id=task.id,
        season_year=task.season_year,
        status=task.status,
        due_date=task.due_date,
        message=f"已受理上门认证申请，工作人员将于{task.due_date:%Y年%m月%d日}前与您联系。",
        message_en=f"Your home-visit request is accepted; staff will contact you by {task.due_date:%Y-%m-%d}.",
    )


_VISIT_TEXT = {
    "open": (
        "已预约上门认证，工作人员将于{due}前与您联系。",
        "A home visit is booked; staff will contact you by {due}.",
    ),
    "done": ("本年度的上门认证已完成。", "This season's home visit is done."),
    "cancelled": (
        "上门认证已取消（例如已通过其他方式认证）。",
        "The home visit was cancelled (e.g. certified another way).",
    ),
}


@router.get("/me/home-visit-request", response_model=HomeVisitStatusOut)
def my_home_visit(
    pensioner: CurrentPensioner, session: SessionDep, settings: SettingsDep, now: NowDep
) -> HomeVisitStatusOut:
    """The pensioner's home visit of the current season (asked for, or scheduled by the service) and its status."""
    task = help_request_service.current_task(session=session, settings=settings, pensioner=pensioner, now=now)
    if task is None:
        return HomeVisitStatusOut(requested=False, message="尚未申请上门认证。", message_en="No home visit requested.")
    zh, en = _VISIT_TEXT.get(task.status, _VISIT_TEXT["open"])
    return HomeVisitStatusOut(
        requested=True,
        task_id=task.id,
        season_year=task.season_year,
        status=HomeVisitTaskStatus(task.status),
        reason=HomeVisitReason(task.reason),
        due_date=task.due_date,
        message=zh.format(due=f"{task.due_date:%Y年%m月%d日}"),
        message_en=en.format(due=f"{task.due_date:%Y-%m-%d}"),
    )


@router.post("/me/home-visit-request", response_model=HelpRequestOut)
def request_from_app(
    pensioner: CurrentPensioner,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: HelpRequestIn | None = None,
) -> HelpRequestOut:
    """The pensioner (or family using their login) asks for a home visit."""
    task = help_request_service.request_visit(
        session=session, settings=settings, pensioner=pensioner, now=now, source="app", note=body.note if body else None
    )
    return _help_out(task)


@router.post("/pensioners/{pensioner_id}/home-visit-request", response_model=HelpRequestOut)
def request_by_phone(
    pensioner: PensionerInScope,
    staff: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: HelpRequestIn | None = None,
) -> HelpRequestOut:
    """Staff log a phone call asking for a home visit."""
    task = help_request_service.request_visit(
        session=session,
        settings=settings,
        pensioner=pensioner,
        now=now,
        source="phone",
        staff_id=staff.id,
        note=body.note if body else None,
    )
    return _help_out(task)
