"""The maintained per-community roll-up that the summary reads: counts per community and per day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, Subquery, and_, case, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from faces import service as face_service
from models import Certification, HomeVisitTask, Pensioner, RiskRollup, RiskRollupDay, VerificationAttempt
from models.enums import CertificationChannel, HomeVisitTaskStatus, PensionStatus
from risk.windows import born_by

CHANNELS = [c.value for c in CertificationChannel]
CHANNEL_ZH = {
    "app": "手机App",
    "home_visit": "上门认证",
    "counter": "窗口认证",
    "self_service_terminal": "自助终端",
    "data_comparison": "数据比对",
}
_DAY_COLUMNS = ["season_year", "region_code", "day", "town_code", "district_code", "city_code", "certified"]


def refresh_rollup(*, session: Session, settings: Settings, season_year: int, now: datetime) -> int:
    """Recompute a season's per-community counts in two INSERT … SELECT … GROUP BY statements."""
    today = seasons.local_date(now, settings.timezone)
    session.execute(delete(RiskRollup).where(RiskRollup.season_year == season_year))
    session.execute(delete(RiskRollupDay).where(RiskRollupDay.season_year == season_year))
    names, source = _community_source(settings=settings, season_year=season_year, today=today, now=now)
    session.execute(insert(RiskRollup).from_select(names, source))
    session.execute(insert(RiskRollupDay).from_select(_DAY_COLUMNS, _day_source(session, settings, season_year)))
    session.flush()
    return int(session.scalar(select(func.count()).where(RiskRollup.season_year == season_year)) or 0)


def ensure_rollup(*, session: Session, settings: Settings, season_year: int, now: datetime) -> datetime:
    """Refresh the roll-up if it is missing or older than the configured age; returns its time."""
    computed = session.scalar(select(func.min(RiskRollup.computed_at)).where(RiskRollup.season_year == season_year))
    if computed is None or (now - computed).total_seconds() > settings.risk_rollup_max_age_seconds:
        refresh_rollup(session=session, settings=settings, season_year=season_year, now=now)
        return now
    return computed


def _season_rows(season_year: int) -> tuple[Subquery, Subquery, Subquery]:
    """Per pensioner in the season: certification channel, failed app attempts, home-visit task."""
    cert = (
        select(Certification.pensioner_id, Certification.channel)
        .where(Certification.season_year == season_year, Certification.withdrawn_at.is_(None))
        .subquery("c")
    )
    failed = (
        select(VerificationAttempt.pensioner_id, func.count().label("n"))
        .where(VerificationAttempt.season_year == season_year, face_service.failed_app_attempt())
        .group_by(VerificationAttempt.pensioner_id)
        .subquery("f")
    )
    task = (
        select(HomeVisitTask.pensioner_id, HomeVisitTask.status, HomeVisitTask.due_date)
        .where(HomeVisitTask.season_year == season_year)
        .subquery("t")
    )
    return cert, failed, task


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _community_source(
    *, settings: Settings, season_year: int, today: date, now: datetime
) -> tuple[list[str], Select[*tuple[Any, ...]]]:
    """The roll-up's column names and the SELECT over living pensioners, grouped by community."""
    cert, failed, task = _season_rows(season_year)
    columns = _community_columns(
        settings=settings, rows=(cert, failed, task), season_year=season_year, today=today, now=now
    )
    source = (
        select(*[c.label(k) for k, c in columns.items()])
        .select_from(Pensioner)
        .outerjoin(cert, cert.c.pensioner_id == Pensioner.id)
        .outerjoin(failed, failed.c.pensioner_id == Pensioner.id)
        .outerjoin(task, task.c.pensioner_id == Pensioner.id)
        .where(Pensioner.pension_status != PensionStatus.TERMINATED.value)
        .group_by(Pensioner.region_code)
    )
    return list(columns), source


def _community_columns(
    *, settings: Settings, rows: tuple[Subquery, Subquery, Subquery], season_year: int, today: date, now: datetime
) -> dict[str, ColumnElement[Any]]:
    """The roll-up's counts as aggregates over pensioners joined to their season rows."""
    cert, failed, task = rows
    pending = cert.c.pensioner_id.is_(None)
    is_open = task.c.status == HomeVisitTaskStatus.OPEN.value
    old = Pensioner.birth_date <= born_by(today, settings.home_visit_min_age)
    return {
        "season_year": literal(season_year),
        "region_code": Pensioner.region_code.expression,
        "town_code": func.max(Pensioner.town_code),
        "district_code": func.max(Pensioner.district_code),
        "city_code": func.max(Pensioner.city_code),
        "computed_at": literal(now, RiskRollup.__table__.c.computed_at.type),
        "pensioners": func.count(),
        **{f"certified_{ch}": _count_if(cert.c.channel == ch) for ch in CHANNELS},
        "pending": _count_if(pending),
        "pending_bedridden": _count_if(and_(pending, Pensioner.bedridden.is_(True))),
        "pending_80plus": _count_if(and_(pending, old)),
        "pending_failed_attempts": _count_if(and_(pending, failed.c.n > 0)),
        "failed_attempts": func.coalesce(func.sum(failed.c.n), 0),
        "visits_open": _count_if(is_open),
        "visits_overdue": _count_if(and_(is_open, task.c.due_date < today)),
        "suspended": _count_if(Pensioner.pension_status == PensionStatus.SUSPENDED.value),
    }


def local_day(session: Session, column: Any, tz: str) -> ColumnElement[date]:
    """The local calendar day of a UTC timestamp column, in SQL (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(tz, column), Date)
    # SQLite stores UTC text; the service zone (Asia/Shanghai) has no daylight saving.
    offset = datetime.now(seasons.ZoneInfo(tz)).utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return func.date(column, f"{hours:+d} hours")


def _day_source(session: Session, settings: Settings, season_year: int) -> Select[*tuple[Any, ...]]:
    """SELECT of certifications per community and local day."""
    day = local_day(session, Certification.certified_at, settings.timezone)
    return (
        select(
            literal(season_year),
            Pensioner.region_code,
            day,
            func.max(Pensioner.town_code),
            func.max(Pensioner.district_code),
            func.max(Pensioner.city_code),
            func.count(),
        )
        .select_from(Certification)
        .join(Pensioner, Pensioner.id == Certification.pensioner_id)
        .where(Certification.season_year == season_year, Certification.withdrawn_at.is_(None))
        .group_by(Pensioner.region_code, day)
    )
