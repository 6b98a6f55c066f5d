"""Request dependencies: the session (one transaction per request), settings and current users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import NowDep
from core.errors import DomainError, Forbidden, NotAuthenticated
from core.security import MAX_ID, TokenClaims, decode_token
from core.settings import Settings
from models import Pensioner, RefreshToken, StaffUser
from models.enums import StaffRole

# Ids and offsets beyond a 32-bit INTEGER column overflow the database driver (a 500 instead of a 404/422).
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/staff-token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: commits if the route returns, rolls back if it raises."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        if exc.keep_changes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    """The caller's address: the TCP peer, or the client named in X-Forwarded-For when the peer is one of
    PENSION_CERT_TRUSTED_PROXIES (uvicorn rewrites it, `pension-cert serve` configures which peers)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
TokenDep = Annotated[str | None, Depends(_bearer)]


def _ensure_login_alive(session: Session, claims: TokenClaims, now: datetime) -> str | None:
    """An access token dies with its login: refused once no refresh token of its family is live (revoked on reuse).

    Returns the family helper's phone when the login is a helper's (the code went to the family phone)."""
    if claims.family is None:
        return None
    live = session.execute(
        select(RefreshToken.id, RefreshToken.helper_phone)
        .where(
            RefreshToken.family_id == claims.family, RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now
        )
        .limit(1)
    ).first()
    if live is None:
        raise NotAuthenticated("登录已失效，请重新登录。", "This login was ended; log in again.", code="invalid_token")
    return live.helper_phone


def current_staff(session: SessionDep, settings: SettingsDep, token: TokenDep, now: NowDep) -> StaffUser:
    """The logged-in staff member."""
    if not token:
        raise NotAuthenticated()
    claims = decode_token(token, secret=settings.secret_key, now=now)
    _ensure_login_alive(session, claims, now)
    if claims.subject_type != "staff":
        raise NotAuthenticated("请使用工作人员账号登录。", "Staff login required.", code="staff_required")
    staff = session.get(StaffUser, claims.subject_id)
    if staff is None or not staff.active:
        raise NotAuthenticated("账号不可用。", "Account disabled.", code="account_disabled")
    return staff


CurrentStaff = Annotated[StaffUser, Depends(current_staff)]


@dataclass(frozen=True)
class PensionerLogin:
    """Whose certification it is, and the family helper doing it for them (their phone), if any."""

    pensioner: Pensioner
    helper_phone: str | None = None


def current_login(session: SessionDep, settings: SettingsDep, token: TokenDep, now: NowDep) -> PensionerLogin:
    """The logged-in pensioner, and the family helper when the login code went to the family phone."""
    if not token:
        raise NotAuthenticated()
    claims = decode_token(token, secret=settings.secret_key, now=now)
    helper = _ensure_login_alive(session, claims, now)
    if claims.subject_type != "pensioner":
        raise NotAuthenticated("请使用养老金领取人账号登录。", "Pensioner login required.", code="pensioner_required")
    pensioner = session.get(Pensioner, claims.subject_id)
    if pensioner is None:
        raise NotAuthenticated()
    return PensionerLogin(pensioner, helper)


def current_pensioner(login: Annotated[PensionerLogin, Depends(current_login)]) -> Pensioner:
    """The logged-in pensioner (or the family member using their login)."""
    return login.pensioner


CurrentLogin = Annotated[PensionerLogin, Depends(current_login)]
CurrentPensioner = Annotated[Pensioner, Depends(current_pensioner)]


def require_roles(*roles: StaffRole):
    """A dependency that admits only the given staff roles."""
    allowed = {r.value for r in roles}

    def _check(staff: CurrentStaff) -> StaffUser:
        if staff.role not in allowed:
            raise Forbidden()
        return staff

    return _check


AdminStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.ADMIN))]
EnrolStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.COUNTER))]
OfficeStaff = Annotated[
    StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.COUNTER, StaffRole.SUPERVISOR, StaffRole.FIELD))
]
# Enrolment: counter clerks and admins; supervisors too, who alone (with admins) may override a uniqueness refusal.
EnrolOrOverrideStaff = Annotated[
    StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.COUNTER, StaffRole.SUPERVISOR))
]
# Face-check history: supervisors of the pensioner's region, and counter clerks (their own checks, city-wide).
FaceHistoryStaff = Annotated[
    StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.SUPERVISOR, StaffRole.COUNTER))
]
# Contact details (the preferred channel): counter clerks, supervisors and admins.
ContactStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.COUNTER, StaffRole.SUPERVISOR))]
SupervisorStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.ADMIN, StaffRole.SUPERVISOR))]
FieldStaff = Annotated[StaffUser, Depends(require_roles(StaffRole.FIELD, StaffRole.ADMIN, StaffRole.SUPERVISOR))]
