"""Certification seasons, certifications, suspensions and life evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, utcnow


class Season(CreatedAtMixin, Base):
    """The yearly certification window for the whole city."""

    __tablename__ = "season"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    open_date: Mapped[date]
    close_date: Mapped[date]
    grace_days: Mapped[int] = mapped_column(default=0)
    suspend_from_date: Mapped[date]


class SeasonRegionWindow(CreatedAtMixin, Base):
    """A region's own window for a season (a district may extend it)."""

    __tablename__ = "season_region_window"
    __table_args__ = (UniqueConstraint("season_id", "region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("season.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("region.code"))
    close_date: Mapped[date]
    grace_days: Mapped[int] = mapped_column(default=0)
    suspend_from_date: Mapped[date]


class Certification(Base):
    """Proof of life for one pensioner in one season; withdrawn (kept, with who, when and why), never deleted."""

    __tablename__ = "certification"
    __table_args__ = (
        # One standing certification per person and season; withdrawn ones stay beside it.
        Index(
            "uq_certification_standing",
            "pensioner_id",
            "season_year",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
            sqlite_where=text("withdrawn_at IS NULL"),
        ),
        Index("ix_certification_season_year_channel", "season_year", "channel"),
        # Ids are quoted by visits, reinstatements and payroll: never given twice (SQLite AUTOINCREMENT).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key (migration 0022): its per-row check and row lock cost 10-14 s of a million-row import's
    # INSERT on PostgreSQL; every writer takes the id from a pensioner row it has read, and pensioners are never deleted.
    pensioner_id: Mapped[int]
    season_year: Mapped[int]
    certified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(24))
    source: Mapped[str | None] = mapped_column(String(32))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("verification_attempt.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    home_visit_id: Mapped[int | None]
    office_region_code: Mapped[str | None] = mapped_column(String(12))
    evidence: Mapped[dict[str, Any] | None]
    # Rolling policy: the due date this certification replaced (restored when it is withdrawn).
    replaced_due_date: Mapped[date | None]
    # A passive import's run (the target id of its one `life_evidence.imported` audit event, target type import).
    import_run: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))


class Suspension(Base):
    """A pension suspended for a missed season, and its reinstatement."""

    __tablename__ = "suspension"
    __table_args__ = (
        UniqueConstraint("pensioner_id", "season_year"),
        # Only reinstated rows are indexed: the sweep inserts up to a million open ones at once.
        Index(
            "ix_suspension_reinstated_at",
            "reinstated_at",
            postgresql_where=text("reinstated_at IS NOT NULL"),
            sqlite_where=text("reinstated_at IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: only the suspension sweep writes these rows, selected from pensioner in the same
    # statement, up to a million at once; the per-row key check and row lock doubled that INSERT on
    # PostgreSQL (docs/seasons.md). Pensioner rows are never deleted (death is a status).
    pensioner_id: Mapped[int]
    season_year: Mapped[int]
    effective_date: Mapped[date]
    suspended_at: Mapped[datetime] = mapped_column(default=utcnow)
    reinstated_at: Mapped[datetime | None]
    reinstated_effective_date: Mapped[date | None]
    back_pay_months: Mapped[int | None]


class Reinstatement(Base):
    """The back-pay ledger: one row per reinstatement of a suspension, and one per reversal of it; never updated."""

    __tablename__ = "reinstatement"
    __table_args__ = (
        Index("ix_reinstatement_certification_id", "certification_id"),
        Index("ix_reinstatement_pensioner_id", "pensioner_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ReinstatementKind
    pensioner_id: Mapped[int]
    suspension_id: Mapped[int]
    season_year: Mapped[int]
    # The certification that lifted the suspension (the one whose withdrawal a reversal undoes).
    certification_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(unique=True)
    recorded_at: Mapped[datetime]
    recorded_by_staff_id: Mapped[int | None]
    suspended_from: Mapped[date]
    # Reinstatement: the month payment resumes. Reversal: the month from which what was paid is void again.
    effective_date: Mapped[date]
    back_pay_months: Mapped[int]  # negative on a reversal


class PensionHold(Base):
    """A pension held (not paid, not ended) while a reported death awaits a supervisor's decision."""

    __tablename__ = "pension_hold"
    __table_args__ = (
        Index("ix_pension_hold_pensioner_id", "pensioner_id"),
        # At most one undecided hold per person.
        Index(
            "uq_pension_hold_open",
            "pensioner_id",
            unique=True,
            postgresql_where=text("decision IS NULL"),
            sqlite_where=text("decision IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id"))
    reason: Mapped[str] = mapped_column(String(24))
    home_visit_id: Mapped[int | None]
    previous_status: Mapped[str] = mapped_column(String(16))
    reported_death_date: Mapped[date | None]
    effective_date: Mapped[date]  # the first month not paid
    held_at: Mapped[datetime]
    held_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decision: Mapped[str | None] = mapped_column(String(16))  # HoldDecision; None while held
    decided_at: Mapped[datetime | None]
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decision_note: Mapped[str | None] = mapped_column(String(1000))
    back_pay_months: Mapped[int | None]  # released: the held months to pay


class LifeEvidence(Base):
    """Passive proof of life from another system (medical insurance, hospital, bank)."""

    __tablename__ = "life_evidence"
    # The unique key leads with pensioner_id (it serves lookups by person). No foreign key (migration 0021): rows
    # come only from imports, which join the file to pensioner, and pensioners are never deleted; the per-row
    # check cost a third of a million-row import on PostgreSQL.
    __table_args__ = (UniqueConstraint("pensioner_id", "evidence_date", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int]
    evidence_date: Mapped[date]
    source: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
