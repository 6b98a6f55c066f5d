"""Maintained per-community roll-ups that the supervisor risk summary reads."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class RiskRollup(Base):
    """Counts for one community in one season, recomputed by a set-based refresh."""

    __tablename__ = "risk_rollup"
    __table_args__ = (
        Index("ix_risk_rollup_season_district", "season_year", "district_code"),
        Index("ix_risk_rollup_season_town", "season_year", "town_code"),
    )

    season_year: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    town_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(String(12))
    computed_at: Mapped[datetime]
    pensioners: Mapped[int] = mapped_column(default=0)
    certified_app: Mapped[int] = mapped_column(default=0)
    certified_home_visit: Mapped[int] = mapped_column(default=0)
    certified_counter: Mapped[int] = mapped_column(default=0)
    certified_self_service_terminal: Mapped[int] = mapped_column(default=0)
    certified_data_comparison: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)
    pending_bedridden: Mapped[int] = mapped_column(default=0)
    pending_80plus: Mapped[int] = mapped_column(default=0)
    pending_failed_attempts: Mapped[int] = mapped_column(default=0)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    visits_open: Mapped[int] = mapped_column(default=0)
    visits_overdue: Mapped[int] = mapped_column(default=0)
    suspended: Mapped[int] = mapped_column(default=0)


class RiskRollupDay(Base):
    """Certifications per community per local day of a season (the trend line)."""

    __tablename__ = "risk_rollup_day"
    __table_args__ = (Index("ix_risk_rollup_day_season_district", "season_year", "district_code"),)

    season_year: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    town_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(String(12))
    certified: Mapped[int] = mapped_column(default=0)
