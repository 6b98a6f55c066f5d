"""Administration: region and roster import, pensioner registry, scoped to the caller's jurisdiction."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Query, UploadFile
from sqlalchemy import func, select

from core.clock import NowDep
from core.deps import AdminStaff, ContactStaff, CurrentStaff, OfficeStaff, Offset, SessionDep, SettingsDep
from core.uploads import read_limited
from models import Pensioner, Region, StaffUser
from models.enums import StaffRole
from registry import channels as channel_service
from registry import regions as region_service
from registry import roster as roster_service
from registry import search as search_service
from registry import staff as staff_service
from registry.deps import PensionerInCity, PensionerInScope, ensure_in_scope, staff_region
from registry.schemas import (
    PensionerOut,
    PensionerPage,
    PreferredChannelIn,
    RegionImportOut,
    RegionOut,
    RosterImportOut,
    StaffMeOut,
    StaffOut,
)

router = APIRouter(tags=["registry"])
RegionDep = Annotated[Region, Depends(staff_region)]


@router.post("/admin/regions/import", response_model=RegionImportOut)
def import_regions(
    staff: AdminStaff, session: SessionDep, settings: SettingsDep, region: RegionDep, file: UploadFile = File(...)
) -> RegionImportOut:
    """Upsert regions from CSV (code,name,parent_code,level); all or nothing, but rows outside the jurisdiction are refused."""
    data = read_limited(file, settings.max_import_bytes)
    result = region_service.import_regions(session=session, data=data, actor_id=staff.id, jurisdiction=region)
    return RegionImportOut.model_validate(result, from_attributes=True)


@router.post("/admin/roster/import", response_model=RosterImportOut)
def import_roster(
    staff: AdminStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionDep,
    now: NowDep,
    file: UploadFile = File(...),
    confirm_phone_changes: Annotated[
        bool, Query(description="Needed when the file changes more phone numbers than roster_max_phone_changes")
    ] = False,
) -> RosterImportOut:
    """Upsert pensioners by national ID inside the caller's jurisdiction; bad rows are listed, good rows imported."""
    data = read_limited(file, settings.max_import_bytes)
    result = roster_service.import_roster(
        session=session,
        data=data,
        actor_id=staff.id,
        jurisdiction=region,
        settings=settings,
        confirm_phone_changes=confirm_phone_changes,
        now=now,
        today=now.astimezone(ZoneInfo(settings.timezone)).date(),
    )
    return RosterImportOut.model_validate(result.as_dict())


@router.get("/regions", response_model=list[RegionOut])
def list_regions(staff: OfficeStaff, session: SessionDep, region: RegionDep, parent: str | None = None) -> list[Region]:
    """Children of a region inside the caller's jurisdiction (default: the jurisdiction itself)."""
    code = region_service.normalise_code(parent) if parent else region.code
    if not region_service.region_within(session=session, inner_code=code, outer=region):
        return []
    return region_service.children(session=session, code=code)


@router.get("/pensioners", response_model=PensionerPage)
def list_pensioners(
    staff: OfficeStaff,
    session: SessionDep,
    region: RegionDep,
    q: Annotated[
        str | None,
        Query(
            max_length=50,
            description="National ID (full, or at least 4 leading/trailing digits), phone, or name prefix",
        ),
    ] = None,
    status: Annotated[str | None, Query(pattern="^(active|suspended|terminated)$")] = None,
    bedridden: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> PensionerPage:
    """Pensioners living in the caller's jurisdiction."""
    conds = [region_service.pensioner_scope(region)]
    found = search_service.search_condition(q) if q else None
    if found is not None:
        conds.append(found)
    if status:
        conds.append(Pensioner.pension_status == status)
    if bedridden is not None:
        conds.append(Pensioner.bedridden == bedridden)
    total = session.scalar(select(func.count()).select_from(Pensioner).where(*conds)) or 0
    rows = session.scalars(select(Pensioner).where(*conds).order_by(Pensioner.id).limit(limit).offset(offset)).all()
    return PensionerPage(total=total, items=[PensionerOut.model_validate(p) for p in rows])


@router.get("/pensioners/{pensioner_id}", response_model=PensionerOut)
def get_pensioner(staff: OfficeStaff, pensioner: PensionerInScope) -> Pensioner:
    """One pensioner (404 outside the caller's jurisdiction)."""
    return pensioner


@router.put("/pensioners/{pensioner_id}/preferred-channel", response_model=PensionerOut)
def set_preferred_channel(
    staff: ContactStaff,
    session: SessionDep,
    settings: SettingsDep,
    pensioner: PensionerInCity,
    body: PreferredChannelIn,
    now: NowDep,
) -> Pensioner:
    """At the pensioner's request, staff change how messages reach them (an offered channel); audited.

    Counter clerks serve any pensioner of the city (as the card, enrolment and login unlock); supervisors and
    admins their jurisdiction.
    """
    if staff.role != StaffRole.COUNTER.value:
        ensure_in_scope(session=session, staff=staff, pensioner=pensioner)
    return channel_service.set_preferred_channel(
        session=session,
        settings=settings,
        pensioner=pensioner,
        channel=body.channel,
        actor_type="staff",
        actor_id=staff.id,
        now=now,
    )


def _staff_out(user: StaffUser, names: dict[str, str]) -> StaffOut:
    return StaffOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        region_code=user.region_code,
        region_name=names.get(user.region_code, user.region_code),
    )


@router.get("/staff/me", response_model=StaffMeOut)
def who_am_i(staff: CurrentStaff, region: RegionDep) -> StaffMeOut:
    """The logged-in staff member, their role and jurisdiction (the staff pages land each role on its page)."""
    out = _staff_out(staff, {region.code: region.name})
    return StaffMeOut(**out.model_dump(), region_level=region.level)


@router.get("/staff", response_model=list[StaffOut])
def list_staff(
    staff: OfficeStaff,
    session: SessionDep,
    region: RegionDep,
    role: Annotated[str | None, Query(pattern="^(admin|counter|field|supervisor)$")] = None,
) -> list[StaffOut]:
    """Active staff within the caller's jurisdiction (filter by role: the reassign picker asks for field workers)."""
    rows = staff_service.list_staff(session=session, region=region, role=role)
    codes = {u.region_code for u in rows}
    names = {c: n for c, n in session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))}
    return [_staff_out(u, names) for u in rows]
