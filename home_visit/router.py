"""HTTP routes of home visits: field worker's task list, form, visits; help requests; supervisor review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from certification import seasons
from core import audit
from core.clock import NowDep
from core.deps import CurrentPensioner, FieldStaff, OfficeStaff, Offset, RowId, SessionDep, SettingsDep, SupervisorStaff
from core.idempotency import check_key, fingerprint, run_once
from core.uploads import read_limited
from home_visit import addresses as address_service
from home_visit import assignment as assignment_service
from home_visit import form_pdf
from home_visit import help_requests as help_request_service
from home_visit import review as review_service
from home_visit import tasks as task_service
from home_visit import visits as visit_service
from home_visit.schemas import AssignIn, HelpRequestIn, HelpRequestOut, ReviewIn, ReviewItem, TakeIn, TaskOut, VisitOut
from models import HomeVisit, HomeVisitTask, Pensioner, Region
from models.enums import HomeVisitReason, StaffRole
from registry.deps import PensionerInScope, staff_region

router = APIRouter(tags=["home visits"])
RegionDep = Annotated[Region, Depends(staff_region)]
REASON_ZH = {
    HomeVisitReason.BEDRIDDEN.value: "卧床或行动不便",
    HomeVisitReason.AGE_80.value: "80周岁以上高龄",
    HomeVisitReason.FAILED_ATTEMPTS.value: "手机认证多次未通过",
    HomeVisitReason.HELP_REQUEST.value: "本人或家属申请",
}


def _mask(national_id: str) -> str:
    return national_id[:6] + "********" + national_id[-4:]


def _task_out(task: HomeVisitTask, p: Pensioner, address: str, today: date) -> TaskOut:
    return TaskOut(
        id=task.id,
        season_year=task.season_year,
        status=task.status,
        reason=task.reason,
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
    return [_task_out(t, p, addresses[p.id], today) for t, p in rows]


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
def form(task_id: RowId, staff: FieldStaff, session: SessionDep, region: RegionDep) -> Response:
    """The assisted-certification form, prefilled, to print or show on the tablet."""
    task = task_service.get_task(session=session, task_id=task_id, region=region)
    p = session.get(Pensioner, task.pensioner_id)
    assert p is not None
    address = address_service.address_names(session=session, pensioners=[p])[p.id]
    data = form_pdf.FormData(
        task_id=task.id,
        season_year=task.season_year,
        name=p.name,
        national_id=p.national_id,
        sex=p.sex,
        birth_date=p.birth_date,
        address=address,
        phone=p.phone,
        family_phone=p.family_phone,
        paying_region=address_service.region_name(session=session, code=p.paying_region_code),
        reason=REASON_ZH.get(task.reason, task.reason),
        due_date=task.due_date,
    )
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


def _local(value: datetime | None, tz: str) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(tz))


@router.post("/home-visits/{task_id}/visits", response_model=VisitOut, status_code=201)
def record_visit(
    task_id: RowId,
    staff: FieldStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
    outcome: Annotated[str, Form()],
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
    limit = settings.max_upload_bytes
    data = visit_service.VisitInput(
        outcome=outcome,
        visited_at=_local(visited_at, settings.timezone),
        latitude=latitude,
        longitude=longitude,
        photo=read_limited(photo, limit) if photo is not None else None,
        form_scan=read_limited(form_scan, limit) if form_scan is not None else None,
        death_date=death_date,
        new_region_code=new_region_code,
        next_due_date=next_due_date,
        consent_recorded=consent_recorded,
        note=note,
        death_certificate=read_limited(death_certificate, limit) if death_certificate is not None else None,
        family_statement=read_limited(family_statement, limit) if family_statement is not None else None,
        document_photo=read_limited(document_photo, limit) if document_photo is not None else None,
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
