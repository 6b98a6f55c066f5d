"""Seasons (admin), counter certification (office staff) and the pensioner's own status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response
from sqlalchemy import select

from certification import seasons as season_service
from certification import service as certification_service
from certification.schemas import (
    CertificationOut,
    CounterCertificationIn,
    MyCertificationOut,
    SeasonIn,
    SeasonOut,
    WindowIn,
    WindowOut,
    WithdrawalIn,
)
from core import idempotency
from core.clock import NowDep
from core.deps import AdminStaff, CurrentPensioner, EnrolStaff, RowId, SessionDep, SettingsDep, SupervisorStaff
from models import Pensioner
from models.enums import CertificationChannel
from registry import regions as region_service
from registry.deps import city_of, staff_region
from registry.errors import PensionerNotFound, RegionNotFound

router = APIRouter(tags=["seasons"])


@router.post("/admin/seasons", response_model=SeasonOut, status_code=201)
def create_season(body: SeasonIn, staff: AdminStaff, session: SessionDep, settings: SettingsDep) -> Any:
    """Create a year's season; 422 if close is before open, 409 if it exists or overlaps another."""
    return season_service.create_season(
        session=session,
        settings=settings,
        year=body.year,
        open_date=body.open_date,
        close_date=body.close_date,
        grace_days=body.grace_days,
        actor_id=staff.id,
    )


@router.get("/admin/seasons", response_model=list[SeasonOut])
def list_seasons(staff: AdminStaff, session: SessionDep) -> Any:
    """All seasons, newest first."""
    return season_service.list_seasons(session=session)


@router.put("/admin/seasons/{year}/windows", response_model=WindowOut)
def set_window(
    year: Annotated[int, Path(ge=2000, le=2100)], body: WindowIn, staff: AdminStaff, session: SessionDep
) -> Any:
    """Give a region its own close date (e.g. a district extends its window); only inside the admin's jurisdiction."""
    jurisdiction = region_service.get_region(session=session, code=staff.region_code)
    if not region_service.region_within(
        session=session, inner_code=region_service.normalise_code(body.region_code), outer=jurisdiction
    ):
        raise RegionNotFound()
    return season_service.extend_window(
        session=session,
        year=year,
        region_code=body.region_code,
        close_date=body.close_date,
        grace_days=body.grace_days,
        actor_id=staff.id,
    )


@router.post("/certifications/counter", response_model=CertificationOut)
def certify_at_counter(
    body: CounterCertificationIn,
    staff: EnrolStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Record an in-person certification at any office of the city; replays with the same Idempotency-Key."""
    key = idempotency.check_key(idempotency_key)
    national_id = body.national_id.strip().upper()

    def action() -> tuple[int, dict[str, Any]]:
        pensioner = session.scalar(select(Pensioner).where(Pensioner.national_id == national_id))
        if pensioner is None or pensioner.city_code != city_of(staff.region_code):
            raise PensionerNotFound()
        cert = certification_service.record_certification(
            session=session,
            pensioner_id=pensioner.id,
            channel=CertificationChannel.COUNTER.value,
            now=now,
            staff_id=staff.id,
            office_region_code=staff.region_code,
            settings=settings,
        )
        return 200, CertificationOut.model_validate(cert).model_dump(mode="json")

    status, payload, replayed = idempotency.run_once(
        session=session,
        scope=f"counter-certification:{staff.id}",
        key=key,
        request_hash=idempotency.fingerprint(national_id),
        action=action,
    )
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return payload


@router.post("/certifications/{certification_id}/withdraw", response_model=CertificationOut)
def withdraw_certification(
    certification_id: RowId,
    body: WithdrawalIn,
    staff: SupervisorStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Any:
    """Withdraw a certification (kept, marked withdrawn): the suspension it lifted reopens, payroll gets a reversal."""
    return certification_service.withdraw_certification(
        session=session,
        settings=settings,
        certification_id=certification_id,
        region=staff_region(session, staff),
        staff=staff,
        reason=body.reason.strip(),
        now=now,
    )


@router.get("/me/certification", response_model=MyCertificationOut, tags=["pensioner app"])
def my_certification(pensioner: CurrentPensioner, session: SessionDep, settings: SettingsDep, now: NowDep) -> Any:
    """Certified, pending (with deadline and days left), suspended or terminated, with a bilingual message."""
    st = certification_service.certification_status(session=session, settings=settings, pensioner=pensioner, now=now)
    return MyCertificationOut(
        status=st.status.value,
        season_year=st.season_year,
        deadline=st.deadline,
        days_left=st.days_left,
        channel=st.channel,
        certified_at=st.certified_at,
        message=st.message_zh,
        message_en=st.message_en,
    )
