"""Staff password login, pensioner SMS-code login, token refresh, and the staff reset of a pensioner's code limits."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header
from fastapi.security import OAuth2PasswordRequestForm

from auth import otp
from auth import service as auth_service
from auth.schemas import (
    LoginUnlockIn,
    LoginUnlockOut,
    OtpRequestIn,
    OtpRequestOut,
    PensionerTokenIn,
    RefreshIn,
    TokenOut,
)
from core.clock import NowDep
from core.deps import ClientAddress, SessionDep, SettingsDep, require_roles
from messaging import sender
from messaging.deps import GatewaysDep, SessionFactoryDep
from models import StaffUser
from models.enums import StaffRole
from registry.deps import PensionerInCity

router = APIRouter(prefix="/auth", tags=["auth"])

# The app sends one random id per installation (a UUID; never a hardware id): limits count per device, and a
# device that logged in before is not held back by limits others ran up on the national ID.
DeviceId = Annotated[
    str | None,
    Header(
        alias=otp.DEVICE_HEADER,
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Random per-installation id of the app (16-64 characters of A-Z a-z 0-9 . _ : -).",
    ),
]
UnlockStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.COUNTER, StaffRole.SUPERVISOR))]


def _out(pair: auth_service.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/staff-token", response_model=TokenOut)
def staff_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    address: ClientAddress,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> TokenOut:
    """Log in with username and password (OAuth2 password form)."""
    pair = auth_service.staff_login(
        session=session,
        settings=settings,
        username=form.username,
        password=form.password,
        address=address,
        now=now,
    )
    return _out(pair)


@router.post("/otp", response_model=OtpRequestOut, status_code=202)
def request_otp(
    body: OtpRequestIn,
    address: ClientAddress,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    background: BackgroundTasks,
    gateways: GatewaysDep,
    factory: SessionFactoryDep,
    device: DeviceId = None,
) -> OtpRequestOut:
    """Text a one-time login code to the pensioner's phone, or the helper's; the same answer for unknown IDs."""
    started = time.perf_counter()
    note_id = otp.request_otp(
        session=session,
        settings=settings,
        national_id=body.national_id,
        to_family=body.to_family_phone,
        caller=otp.Caller(address=address, device=device),
        now=now,
    )
    otp.pad_to(started, settings.otp_answer_min_ms / 1000)
    if note_id is not None and settings.outbox_send_on_request:
        # Runs after the session committed (and after the answer left): the code goes ahead of any backlog.
        background.add_task(
            sender.deliver_now, session_factory=factory, gateways=gateways, settings=settings, ids=[note_id], now=now
        )
    return OtpRequestOut(
        message="如果该身份证号已登记，验证码已发送到登记的手机（或亲属手机）。",
        message_en="If this ID is registered, a code was sent to the registered phone (or the family phone).",
    )


@router.post("/pensioner-token", response_model=TokenOut)
def pensioner_token(
    body: PensionerTokenIn,
    address: ClientAddress,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    device: DeviceId = None,
) -> TokenOut:
    """Exchange the SMS code for a bearer token."""
    pair = otp.pensioner_login(
        session=session,
        settings=settings,
        national_id=body.national_id,
        code=body.code,
        caller=otp.Caller(address=address, device=device),
        now=now,
    )
    return _out(pair)


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep, now: NowDep) -> TokenOut:
    """Rotate a refresh token for a new short-lived access token (a rotated one used again ends that login)."""
    return _out(auth_service.refresh(session=session, settings=settings, refresh_token=body.refresh_token, now=now))


@router.post("/pensioners/{pensioner_id}/login-unlock", response_model=LoginUnlockOut)
def unlock_pensioner_login(
    body: LoginUnlockIn, pensioner: PensionerInCity, staff: UnlockStaff, session: SessionDep, settings: SettingsDep
) -> LoginUnlockOut:
    """Counter or hotline staff, having verified the person, reset the code limits on the pensioner's ID (audited)."""
    cleared = otp.unlock(
        session=session,
        settings=settings,
        staff=staff,
        pensioner=pensioner,
        verified_by=body.verified_by,
        note=body.note,
    )
    return LoginUnlockOut(pensioner_id=pensioner.id, cleared=cleared)
