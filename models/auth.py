"""One-time login codes, known devices, refresh tokens, idempotency records and rate-limit hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class OtpCode(CreatedAtMixin, Base):
    """A one-time SMS login code (stored hashed); the newest few unused, unexpired ones are live at once."""

    __tablename__ = "otp_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    sent_to: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # used, or ended (older than the live few, or another code logged in)
    attempts: Mapped[int] = mapped_column(default=0)  # wrong codes tried while it was live (a record only)
    device_hash: Mapped[str | None] = mapped_column(String(64))  # keyed digest of the X-Device-Id that asked


class KnownDevice(Base):
    """A device (keyed digest of its X-Device-Id) that completed a code login for the pensioner."""

    __tablename__ = "known_device"
    __table_args__ = (UniqueConstraint("pensioner_id", "device_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    device_hash: Mapped[str] = mapped_column(String(64))
    first_login_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class RefreshToken(CreatedAtMixin, Base):
    """A long-lived refresh token, revocable; rotation keeps the family (one login), reuse revokes it."""

    __tablename__ = "refresh_token"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str | None] = mapped_column(String(36), index=True)  # the jti of the login's first token
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # A family helper's login (the code went to the pensioner's family phone): that phone, kept through rotation.
    helper_phone: Mapped[str | None] = mapped_column(String(20))


class IdempotencyRecord(CreatedAtMixin, Base):
    """The first answer to a write carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_record"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None]


class RateLimitHit(Base):
    """One counted attempt (login, OTP, face) for sliding-window limits shared by all workers."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
