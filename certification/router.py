"""Seasons (admin), counter certification (office staff) and the pensioner's own status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response

from certification import counter as counter_service
from certification import seasons as season_service
from certification import service as certification_service
from certification import suspension as suspension_service
from certification.schemas import (
    CertificationOut,
    CounterCertificationIn,
    CounterCertificationOut,
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
from models import Region
from registry.deps import staff_region

router = APIRouter(tags=["seasons"])
StaffRegion = Annotated[Region, Depends(staff_region)]
_CERTIFIED = ("已完成本年度资格认证。", "Certified for this season.")
_ALREADY = ("此人本年度已完成认证，无需重复认证。", "Already certified this season; nothing was changed.")


@router.post("/admin/seasons", response_model=SeasonOut, status_code=201)
def create_season(
    body: SeasonIn, staff: AdminStaff, session: SessionDep, settings: SettingsDep, region: StaffRegion
) -> Any:
    """Create a year's season (admins of the service city only, else 403); 422 if close is before open, 409 if it exists or overlaps."""
    return season_service.create_season(
        session=session,
        settings=settings,
        year=body.year,
        open_date=body.open_date,
        close_date=body.close_date,
        grace_days=body.grace_days,
        actor_id=staff.id,
        jurisdiction=region,
    )


@router.get("/admin/seasons", response_model=list[SeasonOut])
def list_seasons(staff: AdminStaff, session: SessionDep) -> Any:
    """All seasons, newest first."""
    return season_service.list_seasons(session=session)


@router.put("/admin/seasons/{year}/windows", response_model=WindowOut)
def set_window(
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: WindowIn,
    staff: AdminStaff,
    session: SessionDep,
    settings: SettingsDep,
    region: StaffRegion,
    now: NowDep,
) -> Any:
    """Give a region its own close date (e.g. a district extends its window); only inside the admin's jurisdiction."""
    window = season_service.extend_window(
        session=session,
        year=year,
        region_code=body.region_code,
        close_date=body.close_date,
        grace_days=body.grace_days,
        actor_id=staff.id,
        jurisdiction=region,
        settings=settings,
    )
    lifted = suspension_service.lift_after_window_change(
        session=session, settings=settings, year=year, now=now, actor_id=staff.id
    )
    return WindowOut.model_validate(window).model_copy(update={"suspensions_lifted": lifted})


@router.post("/certifications/counter", response_model=CounterCertificationOut)
def certify_at_counter(
    body: CounterCertificationIn,
    staff: EnrolStaff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Certify in person at any office of the city on a matched counter face check; replays with the same key."""
    key = idempotency.check_key(idempotency_key)
    national_id = body.national_id.strip().upper()

    def action() -> tuple[int, dict[str, Any]]:
        outcome = counter_service.certify(
            session=session,
            settings=settings,
            staff=staff,
            national_id=national_id,
            attempt_id=body.attempt_id,
            now=now,
        )
        cert = outcome.certification
        already = outcome.already_certified
        zh, en = _ALREADY if already else _CERTIFIED
        out = CounterCertificationOut.model_validate(
            {
                **CertificationOut.model_validate(cert).model_dump(),
                "already_certified": already,
                "message": zh,
                "message_en": en,
            }
        )
        return 200, out.model_dump(mode="json")

    status, payload, replayed = idempotency.run_once(
        session=session,
        scope=f"counter-certification:{staff.id}",
        key=key,
        request_hash=idempotency.fingerprint(national_id, str(body.attempt_id)),
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
        suspended_from=st.suspended_from,
        back_pay_months=st.back_pay_months,
        message=st.message_zh,
        message_en=st.message_en,
    )
