"""Staff login, tokens and their refresh (pensioner code login: auth.otp)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth.errors import AccountDisabled, BadCredentials, SessionExpired
from core import audit, ratelimit
from core.ratelimit import Limit, Policy
from core.security import DUMMY_PASSWORD_HASH, create_token, decode_token, verify_password
from core.settings import Settings
from models import RefreshToken, StaffUser


@dataclass(frozen=True)
class TokenPair:
    """An access token and its refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int


def issue_tokens(
    *,
    session: Session,
    settings: Settings,
    subject_type: str,
    subject_id: int,
    role: str | None,
    now: datetime,
    family: str | None = None,
    helper_phone: str | None = None,
) -> TokenPair:
    """A new access token and refresh token; a login starts a family, a rotation continues it (and its helper)."""
    jti = str(uuid.uuid4())
    family = family or jti
    access = create_token(
        secret=settings.secret_key,
        subject_type=subject_type,
        subject_id=subject_id,
        role=role,
        now=now,
        lifetime=timedelta(minutes=settings.access_token_minutes),
        family=family,
    )
    lifetime = timedelta(days=settings.refresh_token_days)
    session.add(
        RefreshToken(
            id=jti,
            family_id=family,
            subject_type=subject_type,
            subject_id=subject_id,
            expires_at=now + lifetime,
            created_at=now,
            helper_phone=helper_phone,
        )
    )
    refresh = create_token(
        secret=settings.secret_key,
        subject_type=subject_type,
        subject_id=subject_id,
        role=role,
        now=now,
        lifetime=lifetime,
        token_type="refresh",
        jti=jti,
        family=family,
    )
    session.flush()
    return TokenPair(access, refresh, settings.access_token_minutes * 60)


def staff_login(
    *,
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    address: str,
    now: datetime,
) -> TokenPair:
    """Check a staff password and issue tokens; wrong passwords are limited per (account, address) and per address."""
    where = ratelimit.address_key(address)
    pair = f"login:pair:{ratelimit.key(settings.secret_key, username.lower()[:64], where)}"
    per_address = f"login:addr:{where}"
    ratelimit.check(
        session=session,
        limits=[
            Limit(pair, settings.login_rate_per_account),
            Limit(per_address, settings.login_rate_per_address, windowed=True),
        ],
        policy=Policy.from_settings(settings),
        now=now,
    )
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    ok = verify_password(staff.password_hash if staff else DUMMY_PASSWORD_HASH, password)
    if staff is None or not ok or not staff.active:
        ratelimit.hit(session=session, buckets=[pair, per_address], now=now)  # only failures count
        raise BadCredentials()
    ratelimit.clear(session=session, buckets=[pair])
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="staff_login",
        target_type="staff_user",
        target_id=staff.id,
    )
    return issue_tokens(
        session=session, settings=settings, subject_type="staff", subject_id=staff.id, role=staff.role, now=now
    )


def refresh(*, session: Session, settings: Settings, refresh_token: str, now: datetime) -> TokenPair:
    """Rotate a refresh token: the old one is revoked, a new pair issued; a rotated one used again ends the login."""
    claims = decode_token(refresh_token, secret=settings.secret_key, now=now, expected_type="refresh")
    row = session.get(RefreshToken, claims.jti, with_for_update=True)
    if row is None or row.expires_at <= now:
        raise SessionExpired()
    family = row.family_id or row.id
    if row.revoked_at is not None:
        _revoke_family(session=session, row=row, family=family, now=now)
        raise SessionExpired(keep_changes=True)
    if claims.subject_type == "staff":
        staff = session.get(StaffUser, claims.subject_id)
        if staff is None or not staff.active:
            raise AccountDisabled()
    row.revoked_at = now
    return issue_tokens(
        session=session,
        settings=settings,
        subject_type=claims.subject_type,
        subject_id=claims.subject_id,
        role=claims.role,
        now=now,
        family=family,
        helper_phone=row.helper_phone,
    )


def _revoke_family(*, session: Session, row: RefreshToken, family: str, now: datetime) -> None:
    """A rotated token came back (a stolen copy, or a replay): every token issued after it is revoked, audited."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        session=session,
        actor_type=row.subject_type,
        actor_id=row.subject_id,
        action="refresh_token_reused",
        target_type=row.subject_type,
        target_id=row.subject_id,
        detail={"family": family, "revoked": int(getattr(result, "rowcount", 0) or 0)},
    )
    session.flush()
