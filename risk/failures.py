"""Why people fail: failed app attempts of a season by age band, reason, child region and week (set-based SQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, select
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from models import Pensioner, Region, Season, VerificationAttempt
from models.enums import AttemptDecision, CertificationChannel, RegionLevel
from risk.rollup import local_day
from risk.windows import born_by

BANDS = ("under_60", "60_69", "70_79", "80_89", "90_plus")
REASONS = ("too_dark", "too_blurred", "head_turned", "no_match", "liveness", "presentation_attack", "other")
_LEVEL_COLUMN = {
    RegionLevel.CITY: "city_code",
    RegionLevel.DISTRICT: "district_code",
    RegionLevel.TOWN: "town_code",
    RegionLevel.COMMUNITY: "region_code",
}
_CHILD_LEVEL = {RegionLevel.CITY: RegionLevel.DISTRICT, RegionLevel.DISTRICT: RegionLevel.TOWN}
_CHILD_LEVEL[RegionLevel.TOWN] = RegionLevel.COMMUNITY


@dataclass
class FailureReport:
    """Counts of failed app attempts: band x reason, per child region and reason, per week and reason."""

    season: int
    today: date
    week_starts: list[date]
    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    by_region: dict[str, dict[str, int]] = field(default_factory=dict)
    by_week: dict[date, dict[str, int]] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every failed attempt counted."""
        return sum(self.cells.values())


def reason_bucket() -> ColumnElement[str]:
    """One reason per failed attempt, from its decision and stored reasons (a presentation attack first)."""
    reasons = cast(VerificationAttempt.reasons, String)
    decision = VerificationAttempt.decision
    return case(
        (decision == AttemptDecision.PRESENTATION_ATTACK.value, "presentation_attack"),
        (reasons.like('%"too_dark"%'), "too_dark"),
        (reasons.like('%"too_blurred"%'), "too_blurred"),
        (reasons.like('%"head_turned"%'), "head_turned"),
        (decision == AttemptDecision.NO_MATCH.value, "no_match"),
        (decision == AttemptDecision.LIVENESS_FAILED.value, "liveness"),
        else_="other",
    )


def age_band(today: date) -> ColumnElement[str]:
    """The age band on `today`, as birth-date ranges (the birth_date index, no date arithmetic in SQL)."""
    born = Pensioner.birth_date
    return case(
        (born <= born_by(today, 90), "90_plus"),
        (born <= born_by(today, 80), "80_89"),
        (born <= born_by(today, 70), "70_79"),
        (born <= born_by(today, 60), "60_69"),
        else_="under_60",
    )


def _base(season: Season, region: Region) -> list[ColumnElement[bool]]:
    scope = getattr(Pensioner, _LEVEL_COLUMN[RegionLevel(region.level)])
    return [
        VerificationAttempt.channel == CertificationChannel.APP.value,
        VerificationAttempt.season_year == season.year,
        VerificationAttempt.decision != AttemptDecision.MATCH.value,
        scope == region.code,
    ]


def failures(*, session: Session, settings: Settings, region: Region, season: Season, now: datetime) -> FailureReport:
    """The season's failed app attempts in `region` (retries for photo quality count: they are what people meet)."""
    today = seasons.local_date(now, settings.timezone)
    child = _CHILD_LEVEL.get(RegionLevel(region.level))
    group = getattr(Pensioner, _LEVEL_COLUMN[child]) if child else Pensioner.region_code
    band, reason, conds = age_band(today), reason_bucket(), _base(season, region)
    report = FailureReport(season.year, today, _weeks(season.open_date, min(today, season.close_date)))
    rows = session.execute(
        select(group, band, reason, func.count())
        .select_from(VerificationAttempt)
        .join(Pensioner, Pensioner.id == VerificationAttempt.pensioner_id)
        .where(*conds)
        .group_by(group, band, reason)
    )
    for code, b, r, n in rows:
        report.cells[(b, r)] = report.cells.get((b, r), 0) + int(n)
        report.by_region.setdefault(code or "", dict.fromkeys(REASONS, 0))[r] += int(n)
    _add_weeks(session, settings, report, conds, reason, season.open_date)
    names = select(Region.code, Region.name).where(Region.code.in_(list(report.by_region)))
    report.region_names = {code: name for code, name in session.execute(names)}
    return report


def _weeks(start: date, end: date) -> list[date]:
    """The first day of each week of the season up to `end` (weeks counted from the opening day)."""
    return [start + timedelta(days=7 * i) for i in range(max((end - start).days // 7 + 1, 1))]


def _add_weeks(
    session: Session, settings: Settings, report: FailureReport, conds: list[Any], reason: Any, open_date: date
) -> None:
    """Failures per local day and reason in SQL, folded into the season's weeks."""
    day = local_day(session, VerificationAttempt.at, settings.timezone)
    rows = session.execute(
        select(day, reason, func.count())
        .select_from(VerificationAttempt)
        .join(Pensioner, Pensioner.id == VerificationAttempt.pensioner_id)
        .where(*conds)
        .group_by(day, reason)
    )
    weeks: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(REASONS, 0))
    for d, r, n in rows:
        local = d if isinstance(d, date) else date.fromisoformat(str(d))
        start = open_date + timedelta(days=7 * max((local - open_date).days // 7, 0))
        weeks[start][r] += int(n)
    for start in report.week_starts:
        weeks.setdefault(start, dict.fromkeys(REASONS, 0))
    report.by_week = dict(sorted(weeks.items()))
