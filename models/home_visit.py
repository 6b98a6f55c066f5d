"""Home-visit tasks and the visits field staff record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin, utcnow


class HomeVisitTask(TimestampMixin, Base):
    """At most one per pensioner per season; reopened when a visit must be repeated."""

    __tablename__ = "home_visit_task"
    __table_args__ = (
        UniqueConstraint("pensioner_id", "season_year"),
        Index("ix_home_visit_task_assignee_status", "assigned_staff_id", "status"),
        Index("ix_home_visit_task_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"))
    season_year: Mapped[int]
    reason: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="open")
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    due_date: Mapped[date]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class HomeVisit(Base):
    """One visit to a pensioner's home, with outcome and evidence."""

    __tablename__ = "home_visit"
    __table_args__ = ({"sqlite_autoincrement": True},)  # visit ids are quoted by certifications: never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("home_visit_task.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    visited_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # The device's reported accuracy (metres), and why a position or a photo is missing (denied, inaccurate …).
    position_accuracy_m: Mapped[float | None] = mapped_column(Float)
    position_missing_reason: Mapped[str | None] = mapped_column(String(24))
    photo_missing_reason: Mapped[str | None] = mapped_column(String(24))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_distance: Mapped[float | None] = mapped_column(Float)
    photo_decision: Mapped[str | None] = mapped_column(String(24))
    form_scan_sha256: Mapped[str | None] = mapped_column(String(64))
    form_scan_evidence_id: Mapped[int | None]
    detail: Mapped[dict[str, Any] | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_reasons: Mapped[list[Any] | None]
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reviewed_at: Mapped[datetime | None]


class Evidence(Base):
    """An encrypted piece of evidence (visit photo, form scan, selfie) kept until purge_after."""

    __tablename__ = "evidence"
    __table_args__ = ({"sqlite_autoincrement": True},)  # a purged row's id must never name another's evidence

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purge_after: Mapped[datetime | None] = mapped_column(index=True)


class ResidenceTransfer(Base):
    """A reported move out of the city: a record for the paying region, confirmed or rejected by a supervisor."""

    __tablename__ = "residence_transfer"
    __table_args__ = (Index("ix_residence_transfer_pensioner_id", "pensioner_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id"))
    home_visit_id: Mapped[int | None]
    from_region_code: Mapped[str] = mapped_column(String(12))
    to_region_code: Mapped[str | None] = mapped_column(String(12))  # as reported; may lie outside the region table
    paying_region_code: Mapped[str | None] = mapped_column(String(12))
    reported_at: Mapped[datetime]
    reported_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    status: Mapped[str] = mapped_column(String(16))  # TransferStatus
    decided_at: Mapped[datetime | None]
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
