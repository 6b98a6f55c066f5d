"""Face templates, biometric consent and verification attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, utcnow


class FaceTemplate(CreatedAtMixin, Base):
    """A 128-d face encoding (encrypted at rest) of one pensioner, made by the face model named in `model`."""

    __tablename__ = "face_template"
    __table_args__ = (Index("ix_face_template_model_id", "model", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(16), default="dlib", server_default="dlib")
    encoding: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32), default="plain")
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))


class BiometricConsent(Base):
    """Separate consent to face processing: who recorded it, when and how."""

    __tablename__ = "biometric_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(32))
    recorded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    withdrawn_at: Mapped[datetime | None]


class VerificationAttempt(Base):
    """One 1:1 face check; the image itself is never stored, only its hash."""

    __tablename__ = "verification_attempt"
    __table_args__ = (Index("ix_verification_attempt_pensioner_at", "pensioner_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(24))
    season_year: Mapped[int | None]
    distance: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(24))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    challenge_id: Mapped[str | None] = mapped_column(String(36))
    helper_phone: Mapped[str | None] = mapped_column(String(20))  # the family helper whose login made the attempt
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
