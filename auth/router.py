"""Staff password login, pensioner SMS-code login and token refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from auth import service as auth_service
from auth.schemas import OtpRequestIn, OtpRequestOut, PensionerTokenIn, RefreshIn, TokenOut
from core.clock import NowDep
from core.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/auth", tags=["auth"])


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _out(pair: auth_service.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/staff-token", response_model=TokenOut)
def staff_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
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
        address=_address(request),
        now=now,
    )
    return _out(pair)


@router.post("/otp", response_model=OtpRequestOut, status_code=202)
def request_otp(
    body: OtpRequestIn, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> OtpRequestOut:
    """Send a one-time login code by SMS to the pensioner's phone, or the helper's phone."""
    masked = auth_service.request_otp(
        session=session,
        settings=settings,
        national_id=body.national_id,
        to_family=body.to_family_phone,
        address=_address(request),
        now=now,
    )
    return OtpRequestOut(
        message="如果该身份证号已登记，验证码已发送到登记的手机。",
        message_en="If this ID is registered, a code was sent to the registered phone.",
        masked_phone=masked,
    )


@router.post("/pensioner-token", response_model=TokenOut)
def pensioner_token(
    body: PensionerTokenIn, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> TokenOut:
    """Exchange the SMS code for a bearer token."""
    pair = auth_service.pensioner_login(
        session=session,
        settings=settings,
        national_id=body.national_id,
        code=body.code,
        now=now,
    )
    return _out(pair)


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep, now: NowDep) -> TokenOut:
    """Rotate a refresh token for a new short-lived access token."""
    return _out(auth_service.refresh(session=session, settings=settings, refresh_token=body.refresh_token, now=now))
