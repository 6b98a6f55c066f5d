"""Pensioner SMS-code login that nobody who merely knows a national ID can block (docs/operations.md, login limits).

- A new code does not cancel the live ones: the LIVE_CODES newest unused, unexpired codes all work.
- Asking for codes is limited per national ID and per device (a day's allowance, then a growing back-off) and per
  client address (sliding window); wrong codes likewise, per ID, device and address.
- A device that logged in before is not held back by the limits on the ID, and the device that asked for a code
  may use it (with at most REQUESTER_MISSES wrong codes a day) while guessing from elsewhere holds the ID back.
- Counter staff (or staff who called the registered phone back) reset the ID's limits, audited.
- The answer to a request is the same whether or not the ID is registered, and comes after the same time
  (PENSION_CERT_OTP_ANSWER_MIN_MS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.errors import BadOtp
from auth.service import TokenPair, issue_tokens
from core import audit, ratelimit
from core.errors import RateLimited
from core.national_id import InvalidNationalId, parse_national_id
from core.ratelimit import Limit, Policy
from core.security import codes_equal, hash_code, new_otp
from core.settings import Settings
from messaging import outbox
from models import KnownDevice, OtpCode, Pensioner, StaffUser
from models.enums import PensionStatus

LIVE_CODES = 3
REQUESTER_MISSES = 2  # wrong codes a day after which the asking device no longer passes a held-back ID
DEVICE_HEADER = "X-Device-Id"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the client address and the app's device id (X-Device-Id), if it sent one."""

    address: str
    device: str | None = None


@dataclass(frozen=True)
class _Buckets:
    id: str
    address: str
    device: str | None

    def all(self) -> list[str]:
        return [b for b in (self.id, self.address, self.device) if b]

    def own(self) -> list[str]:
        """The caller's own buckets (address, device), never the ID's."""
        return [b for b in (self.address, self.device) if b]


def _id_key(national_id: str) -> str:
    try:
        return parse_national_id(national_id).number
    except InvalidNationalId:
        return national_id.strip().upper()[:18]


def device_digest(settings: Settings, device: str | None) -> str | None:
    """The keyed digest stored for a device id (the id itself is never stored)."""
    return None if device is None else ratelimit.key(settings.secret_key, "device", device)


def _buckets(settings: Settings, kind: str, national_id: str, caller: Caller) -> _Buckets:
    device = device_digest(settings, caller.device)
    return _Buckets(
        id=f"{kind}:id:{ratelimit.key(settings.secret_key, 'id', _id_key(national_id))}",
        address=f"{kind}:addr:{ratelimit.address_key(caller.address)}",
        device=None if device is None else f"{kind}:dev:{device}",
    )


def _find(session: Session, national_id: str) -> Pensioner | None:
    """The pensioner who may log in with this ID (not a terminated pension), or None."""
    try:
        nid = parse_national_id(national_id).number
    except InvalidNationalId:
        return None
    pensioner = session.scalar(select(Pensioner).where(Pensioner.national_id == nid))
    if pensioner is None or pensioner.pension_status == PensionStatus.TERMINATED:
        return None
    return pensioner


def _known(session: Session, pensioner: Pensioner | None, device: str | None) -> bool:
    """Whether the device completed a code login for the pensioner before (the same query for unknown IDs)."""
    if device is None:
        return False
    pensioner_id = pensioner.id if pensioner is not None else 0
    found = session.scalar(
        select(KnownDevice.id).where(KnownDevice.pensioner_id == pensioner_id, KnownDevice.device_hash == device)
    )
    return found is not None and pensioner is not None


def _live_codes(session: Session, pensioner: Pensioner | None, now: datetime) -> list[OtpCode]:
    """The pensioner's unused, unexpired codes, newest first (the same query for unknown IDs)."""
    pensioner_id = pensioner.id if pensioner is not None else 0
    return list(
        session.scalars(
            select(OtpCode)
            .where(OtpCode.pensioner_id == pensioner_id, OtpCode.used_at.is_(None), OtpCode.expires_at > now)
            .order_by(OtpCode.id.desc())
        )
    )


def _phone(pensioner: Pensioner | None, to_family: bool) -> str | None:
    if pensioner is None:
        return None
    return (pensioner.family_phone if to_family and pensioner.family_phone else pensioner.phone) or None


def pad_to(started: float, seconds: float) -> None:
    """Sleep out the rest of `seconds` since `started` (time.perf_counter), so that registered and unknown IDs
    (which skip writing a code and a text) answer after the same time."""
    remaining = seconds - (time.perf_counter() - started)
    if remaining > 0:
        time.sleep(remaining)


def request_otp(
    *, session: Session, settings: Settings, national_id: str, to_family: bool, caller: Caller, now: datetime
) -> int | None:
    """Text a login code to the pensioner's (or helper's) phone; returns the outbox id (None: unknown ID, no text)."""
    pensioner = _find(session, national_id)
    buckets = _buckets(settings, "otp", national_id, caller)
    device = device_digest(settings, caller.device)
    limits = [Limit(buckets.address, settings.login_rate_per_address, windowed=True)]
    if buckets.device:
        limits.append(Limit(buckets.device, settings.login_rate_per_account))
    if not _known(session, pensioner, device):
        limits.append(Limit(buckets.id, settings.login_rate_per_account))
    ratelimit.check(session=session, limits=limits, policy=Policy.from_settings(settings), now=now)
    ratelimit.hit(session=session, buckets=buckets.all(), now=now)
    code = new_otp(settings.otp_length)
    code_hash = hash_code(settings.secret_key, code)
    live = _live_codes(session, pensioner, now)
    phone = _phone(pensioner, to_family)
    if pensioner is None or phone is None:
        return None
    for older in live[LIVE_CODES - 1 :]:
        older.used_at = now  # the newest LIVE_CODES (this one included) stay live
    session.add(
        OtpCode(
            pensioner_id=pensioner.id,
            code_hash=code_hash,
            sent_to=phone,
            expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
            created_at=now,
            device_hash=device,
        )
    )
    minutes = max(1, settings.otp_ttl_seconds // 60)
    note = outbox.enqueue(
        session=session,
        phone=phone,
        kind="otp",  # the fast lane: handed to the gateway right after this request commits
        pensioner_id=pensioner.id,
        now=now,
        body_zh=f"【养老金资格认证】您的登录验证码是{code}，{minutes}分钟内有效。请勿告诉他人。",
        body_en=f"[Pension certification] Your login code is {code}, valid for {minutes} minutes. Do not share it.",
    )
    return note.id


def _passes_held_back_id(
    *, session: Session, settings: Settings, pensioner: Pensioner | None, match: OtpCode, caller: Caller, now: datetime
) -> bool:
    """Whether a right code gets through although guessing holds the ID back: a known device, or the asking one."""
    device = device_digest(settings, caller.device)
    if device is None:
        return False
    if _known(session, pensioner, device):
        return True
    misses = Limit(f"otpguess:dev:{device}", REQUESTER_MISSES)
    policy = Policy.from_settings(settings)
    return (
        match.device_hash == device
        and ratelimit.wait_seconds(session=session, limit=misses, policy=policy, now=now) == 0
    )


def pensioner_login(
    *, session: Session, settings: Settings, national_id: str, code: str, caller: Caller, now: datetime
) -> TokenPair:
    """Exchange one of the live codes for tokens; wrong codes count per ID, device and address, never kill a code."""
    buckets = _buckets(settings, "otpguess", national_id, caller)
    policy = Policy.from_settings(settings)
    own = [Limit(buckets.address, settings.login_rate_per_address, windowed=True)]
    if buckets.device:
        own.append(Limit(buckets.device, settings.otp_max_attempts))
    ratelimit.check(session=session, limits=own, policy=policy, now=now)
    id_limit = Limit(buckets.id, settings.otp_max_attempts)
    id_wait = ratelimit.wait_seconds(session=session, limit=id_limit, policy=policy, now=now)
    pensioner = _find(session, national_id)
    live = _live_codes(session, pensioner, now)
    submitted = hash_code(settings.secret_key, code.strip())
    matches = [otp for otp in live if codes_equal(otp.code_hash, submitted)]
    match = matches[0] if matches else None
    if id_wait > 0 and not (
        match is not None
        and _passes_held_back_id(
            session=session, settings=settings, pensioner=pensioner, match=match, caller=caller, now=now
        )
    ):
        ratelimit.hit(session=session, buckets=buckets.own(), now=now)
        raise RateLimited(id_wait)
    if match is None or pensioner is None:
        for otp in live:
            otp.attempts += 1
        ratelimit.hit(session=session, buckets=buckets.all(), now=now)
        raise BadOtp(keep_changes=True)
    for otp in live:
        otp.used_at = now  # one login ends every live code
    ratelimit.clear(session=session, buckets=[b for b in (buckets.id, buckets.device) if b])
    _remember_device(session, pensioner, device_digest(settings, caller.device), now)
    # The code went to the family phone (not the pensioner's own): a family helper's login, recorded as such.
    helper = match.sent_to if match.sent_to != pensioner.phone else None
    audit.record(
        session=session,
        actor_type="family_helper" if helper else "pensioner",
        actor_id=pensioner.id,
        action="pensioner_login",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"helper_phone": helper} if helper else None,
    )
    return issue_tokens(
        session=session,
        settings=settings,
        subject_type="pensioner",
        subject_id=pensioner.id,
        role=None,
        now=now,
        helper_phone=helper,
    )


def _remember_device(session: Session, pensioner: Pensioner, device: str | None, now: datetime) -> None:
    if device is None:
        return
    row = session.scalar(
        select(KnownDevice).where(KnownDevice.pensioner_id == pensioner.id, KnownDevice.device_hash == device)
    )
    if row is None:
        session.add(KnownDevice(pensioner_id=pensioner.id, device_hash=device, first_login_at=now, last_login_at=now))
    else:
        row.last_login_at = now


def unlock(
    *, session: Session, settings: Settings, staff: StaffUser, pensioner: Pensioner, verified_by: str, note: str | None
) -> int:
    """Reset the code limits on the pensioner's ID after staff verified the person; returns the hits forgotten."""
    caller = Caller(address="")
    buckets = [_buckets(settings, kind, pensioner.national_id, caller).id for kind in ("otp", "otpguess")]
    cleared = ratelimit.clear(session=session, buckets=buckets)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="pensioner_login_unlocked",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"verified_by": verified_by, "note": note, "hits_cleared": cleared},
    )
    session.flush()
    return cleared
