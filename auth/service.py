"""Staff login, pensioner SMS one-time codes, and token refresh."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth.errors import AccountDisabled, BadCredentials, BadOtp, SessionExpired
from core import audit, ratelimit
from core.national_id import InvalidNationalId, parse_national_id
from core.security import (
    DUMMY_PASSWORD_HASH,
    codes_equal,
    create_token,
    decode_token,
    hash_code,
    new_otp,
    verify_password,
)
from core.settings import Settings
from messaging import outbox
from models import OtpCode, Pensioner, RefreshToken, StaffUser
from models.enums import PensionStatus


@dataclass(frozen=True)
class TokenPair:
    """An access token and its refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int


def _issue(
    *, session: Session, settings: Settings, subject_type: str, subject_id: int, role: str | None, now: datetime
) -> TokenPair:
    access = create_token(
        secret=settings.secret_key,
        subject_type=subject_type,
        subject_id=subject_id,
        role=role,
        now=now,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    jti = str(uuid.uuid4())
    lifetime = timedelta(days=settings.refresh_token_days)
    session.add(
        RefreshToken(
            id=jti, subject_type=subject_type, subject_id=subject_id, expires_at=now + lifetime, created_at=now
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
    """Check a staff password (rate-limited per account and per address) and issue tokens."""
    window = timedelta(seconds=settings.login_rate_window_seconds)
    account_bucket = f"login:user:{username.lower()[:64]}"
    ratelimit.check_and_hit(
        session=session,
        window=window,
        now=now,
        buckets=[
            (account_bucket, settings.login_rate_per_account),
            (f"login:addr:{address}", settings.login_rate_per_address),
        ],
    )
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    ok = verify_password(staff.password_hash if staff else DUMMY_PASSWORD_HASH, password)
    if staff is None or not ok or not staff.active:
        raise BadCredentials()
    ratelimit.clear(session=session, bucket=account_bucket)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="staff_login",
        target_type="staff_user",
        target_id=staff.id,
    )
    return _issue(
        session=session, settings=settings, subject_type="staff", subject_id=staff.id, role=staff.role, now=now
    )


def mask_phone(phone: str) -> str:
    """138****5678."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def request_otp(
    *,
    session: Session,
    settings: Settings,
    national_id: str,
    to_family: bool,
    address: str,
    now: datetime,
) -> str | None:
    """Send a login code to the pensioner's (or helper's) phone; returns the masked number, None if unknown."""
    window = timedelta(seconds=settings.login_rate_window_seconds)
    ratelimit.check_and_hit(
        session=session,
        window=window,
        now=now,
        buckets=[(f"otp:id:{national_id.upper()[:18]}", 5), (f"otp:addr:{address}", settings.login_rate_per_address)],
    )
    try:
        nid = parse_national_id(national_id).number
    except InvalidNationalId:
        return None
    pensioner = session.scalar(select(Pensioner).where(Pensioner.national_id == nid))
    if pensioner is None or pensioner.pension_status == PensionStatus.TERMINATED:
        return None
    phone = pensioner.family_phone if to_family and pensioner.family_phone else pensioner.phone
    if not phone:
        return None
    code = new_otp(settings.otp_length)
    session.execute(
        update(OtpCode).where(OtpCode.pensioner_id == pensioner.id, OtpCode.used_at.is_(None)).values(used_at=now)
    )
    session.add(
        OtpCode(
            pensioner_id=pensioner.id,
            code_hash=hash_code(settings.secret_key, code),
            sent_to=phone,
            expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
            created_at=now,
        )
    )
    minutes = max(1, settings.otp_ttl_seconds // 60)
    outbox.enqueue(
        session=session,
        phone=phone,
        kind="otp",
        pensioner_id=pensioner.id,
        now=now,
        body_zh=f"【养老金资格认证】您的登录验证码是{code}，{minutes}分钟内有效。请勿告诉他人。",
        body_en=f"[Pension certification] Your login code is {code}, valid for {minutes} minutes. Do not share it.",
    )
    return mask_phone(phone)


def pensioner_login(*, session: Session, settings: Settings, national_id: str, code: str, now: datetime) -> TokenPair:
    """Exchange a valid, unused, unexpired code for tokens; wrong codes count against the code."""
    try:
        nid = parse_national_id(national_id).number
    except InvalidNationalId:
        raise BadOtp()
    pensioner = session.scalar(select(Pensioner).where(Pensioner.national_id == nid))
    if pensioner is None:
        raise BadOtp()
    otp = session.scalar(
        select(OtpCode)
        .where(OtpCode.pensioner_id == pensioner.id, OtpCode.used_at.is_(None))
        .order_by(OtpCode.id.desc())
        .limit(1)
    )
    if otp is None or otp.expires_at <= now or otp.attempts >= settings.otp_max_attempts:
        raise BadOtp()
    if not codes_equal(otp.code_hash, hash_code(settings.secret_key, code.strip())):
        otp.attempts += 1
        raise BadOtp(keep_changes=True)
    otp.used_at = now
    audit.record(
        session=session,
        actor_type="pensioner",
        actor_id=pensioner.id,
        action="pensioner_login",
        target_type="pensioner",
        target_id=pensioner.id,
    )
    return _issue(
        session=session, settings=settings, subject_type="pensioner", subject_id=pensioner.id, role=None, now=now
    )


def refresh(*, session: Session, settings: Settings, refresh_token: str, now: datetime) -> TokenPair:
    """Rotate a refresh token: the old one is revoked, a new pair issued."""
    claims = decode_token(refresh_token, secret=settings.secret_key, now=now, expected_type="refresh")
    row = session.get(RefreshToken, claims.jti, with_for_update=True)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise SessionExpired()
    if claims.subject_type == "staff":
        staff = session.get(StaffUser, claims.subject_id)
        if staff is None or not staff.active:
            raise AccountDisabled()
    row.revoked_at = now
    return _issue(
        session=session,
        settings=settings,
        subject_type=claims.subject_type,
        subject_id=claims.subject_id,
        role=claims.role,
        now=now,
    )
