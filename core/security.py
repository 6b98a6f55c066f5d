"""Password hashing (argon2), signed access tokens and one-time-code hashing."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import NotAuthenticated

_hasher = PasswordHasher()
_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """Argon2id hash of a staff password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches; constant-time inside argon2."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the account does not exist, so timing does not reveal it.
DUMMY_PASSWORD_HASH = _hasher.hash(secrets.token_hex(8))


# Row ids are 32-bit INTEGER columns; a subject beyond them would overflow the driver (a 500, not a 401).
MAX_ID = 2_147_483_647
SUBJECT_TYPES = frozenset({"staff", "pensioner"})
_SUBJECT_ID = re.compile(r"[1-9][0-9]{0,9}")


@dataclass(frozen=True)
class TokenClaims:
    """What an access token says."""

    subject_type: str  # "staff" or "pensioner"
    subject_id: int
    role: str | None
    token_type: str
    jti: str
    family: str | None = None  # the login (refresh-token family) the token belongs to


def create_token(
    *,
    secret: str,
    subject_type: str,
    subject_id: int,
    role: str | None,
    now: datetime,
    lifetime: timedelta,
    token_type: str = "access",
    jti: str | None = None,
    family: str | None = None,
) -> str:
    """Sign a short-lived token."""
    payload: dict[str, Any] = {
        "sub": f"{subject_type}:{subject_id}",
        "role": role,
        "typ": token_type,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": jti or str(uuid.uuid4()),
    }
    if family is not None:
        payload["fam"] = family
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def _claims(payload: dict[str, Any]) -> TokenClaims:
    """The claims of a verified payload, each of the expected shape (ValueError otherwise)."""
    subject_type, _, subject_id = str(payload["sub"]).partition(":")
    if subject_type not in SUBJECT_TYPES or not _SUBJECT_ID.fullmatch(subject_id) or int(subject_id) > MAX_ID:
        raise ValueError("bad subject")
    role, jti, family = payload.get("role"), payload["jti"], payload.get("fam")
    if not isinstance(jti, str) or not (role is None or isinstance(role, str)):
        raise ValueError("bad claims")
    if not (family is None or isinstance(family, str)):
        raise ValueError("bad family")
    return TokenClaims(subject_type, int(subject_id), role, str(payload["typ"]), jti, family)


def decode_token(token: str, *, secret: str, now: datetime, expected_type: str = "access") -> TokenClaims:
    """Verify signature, expiry (against the injected clock), type and the shape of every claim."""
    try:
        payload = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"verify_exp": False, "verify_iat": False})
        if int(payload["exp"]) <= int(now.timestamp()):
            raise jwt.ExpiredSignatureError("expired")
        if payload.get("typ") != expected_type:
            raise NotAuthenticated("令牌类型错误。", "Wrong token type.", code="invalid_token")
        return _claims(payload)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
        raise NotAuthenticated(
            "登录已过期或无效，请重新登录。", "Invalid or expired token.", code="invalid_token"
        ) from exc


def hash_code(secret: str, code: str) -> str:
    """Keyed hash of a one-time code; the code itself is never stored."""
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def codes_equal(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)


def new_otp(length: int) -> str:
    """A random numeric code."""
    return "".join(secrets.choice("0123456789") for _ in range(length))
