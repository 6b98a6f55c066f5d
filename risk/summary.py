"""The region summary: a region's and its children's counts, trend and projected suspensions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from models import (
    Certification,
    LivenessChallenge,
    Notification,
    Pensioner,
    Region,
    RiskRollup,
    RiskRollupDay,
    Season,
    VerificationAttempt,
)
from models.enums import RegionLevel
from registry import regions as region_service
from risk.rollup import CHANNELS, ensure_rollup
from risk.windows import Windows, load_windows, rollup_chain


@dataclass
class RegionFigures:
    """The risk figures of one region in one season."""

    code: str
    name: str
    level: str
    pensioners: int = 0
    certified: int = 0
    certified_by_channel: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    at_risk: int = 0
    pending_bedridden: int = 0
    pending_80plus: int = 0
    pending_failed_attempts: int = 0
    failed_attempts: int = 0
    visits_open: int = 0
    visits_overdue: int = 0
    suspended: int = 0
    certified_with_exemption: int = 0  # app certifications whose challenge left out actions staff recorded
    undeliverable: int = 0  # this season's reminders and notices the provider reported undelivered
    projected_suspensions: int = 0
    deadline: date | None = None
    days_left: int | None = None
    trend: list[tuple[date, int]] = field(default_factory=list)
    children: list[RegionFigures] = field(default_factory=list)

    @property
    def certified_rate(self) -> float:
        """Share of pensioners certified (0–1)."""
        return self.certified / self.pensioners if self.pensioners else 0.0


@dataclass
class Summary:
    """A region with its children, as of the roll-up time."""

    season: Season
    today: date
    computed_at: datetime
    risk_days: int
    region: RegionFigures


_LEVEL_COLUMN = {
    RegionLevel.CITY: "city_code",
    RegionLevel.DISTRICT: "district_code",
    RegionLevel.TOWN: "town_code",
    RegionLevel.COMMUNITY: "region_code",
}
_CHILD_LEVEL = {
    RegionLevel.CITY: RegionLevel.DISTRICT,
    RegionLevel.DISTRICT: RegionLevel.TOWN,
    RegionLevel.TOWN: RegionLevel.COMMUNITY,
}
_SUMMED = [
    "pensioners",
    *[f"certified_{ch}" for ch in CHANNELS],
    "pending",
    "pending_bedridden",
    "pending_80plus",
    "pending_failed_attempts",
    "failed_attempts",
    "visits_open",
    "visits_overdue",
    "suspended",
]


def summary(
    *, session: Session, settings: Settings, region: Region, season: Season, now: datetime, refresh: bool = True
) -> Summary:
    """Counts for a region and each child region, read from the roll-up by GROUP BY."""
    today = seasons.local_date(now, settings.timezone)
    computed_at = (
        ensure_rollup(session=session, settings=settings, season_year=season.year, now=now) if refresh else now
    )
    windows = load_windows(session=session, season=season)
    level = RegionLevel(region.level)
    scope_col = getattr(RiskRollup, _LEVEL_COLUMN[level])
    at_risk_cond = windows.days_left_at_most(rollup_chain(), today, settings.risk_days_left)
    sums = [func.coalesce(func.sum(getattr(RiskRollup, name)), 0).label(name) for name in _SUMMED]
    sums.append(func.coalesce(func.sum(case((at_risk_cond, RiskRollup.pending), else_=0)), 0).label("at_risk"))
    base = select(*sums).where(RiskRollup.season_year == season.year, scope_col == region.code)

    top = _figures(region, session.execute(base).one()._mapping)
    child_level = _CHILD_LEVEL.get(level)
    if child_level is not None:
        child_col = getattr(RiskRollup, _LEVEL_COLUMN[child_level])
        grouped = {
            row.child: row._mapping
            for row in session.execute(base.add_columns(child_col.label("child")).group_by(child_col))
        }
        for child in region_service.children(session=session, code=region.code):
            top.children.append(_figures(child, grouped.get(child.code)))
    exempted = _exempted(session=session, season=season, region=region, child_level=child_level)
    top.certified_with_exemption = sum(exempted.values())
    for sub in top.children:
        sub.certified_with_exemption = exempted.get(sub.code, 0)
    undelivered = _undeliverable(session=session, season=season, region=region, child_level=child_level)
    top.undeliverable = sum(undelivered.values())
    for sub in top.children:
        sub.undeliverable = undelivered.get(sub.code, 0)
    trend_by = _trend(session=session, season=season, region=region, child_level=child_level)
    for fig in [top, *top.children]:
        fig.trend = trend_by.get(fig.code, [])
        _project(fig, windows, session, today)
    if child_level is not None:
        days: dict[date, int] = {}
        for sub in top.children:
            for d, n in sub.trend:
                days[d] = days.get(d, 0) + n
        top.trend = sorted(days.items())
        _project(top, windows, session, today)
    return Summary(season, today, computed_at, settings.risk_days_left, top)


def _exempted(
    *, session: Session, season: Season, region: Region, child_level: RegionLevel | None
) -> dict[str | None, int]:
    """App certifications of the season answered with an accessibility challenge, by child region."""
    group_col = getattr(Pensioner, _LEVEL_COLUMN[child_level or RegionLevel(region.level)])
    scope_col = getattr(Pensioner, _LEVEL_COLUMN[RegionLevel(region.level)])
    rows = session.execute(
        select(group_col, func.count())
        .select_from(Certification)
        .join(VerificationAttempt, VerificationAttempt.id == Certification.attempt_id)
        .join(LivenessChallenge, LivenessChallenge.id == VerificationAttempt.challenge_id)
        .join(Pensioner, Pensioner.id == Certification.pensioner_id)
        .where(
            Certification.season_year == season.year,
            scope_col == region.code,
            cast(LivenessChallenge.exempted, String) != "[]",
        )
        .group_by(group_col)
    )
    return {code: int(n) for code, n in rows}


def _undeliverable(
    *, session: Session, season: Season, region: Region, child_level: RegionLevel | None
) -> dict[str | None, int]:
    """The season's reminders and notices reported undelivered, by child region (partial index on failures)."""
    group_col = getattr(Pensioner, _LEVEL_COLUMN[child_level or RegionLevel(region.level)])
    scope_col = getattr(Pensioner, _LEVEL_COLUMN[RegionLevel(region.level)])
    rows = session.execute(
        select(group_col, func.count())
        .select_from(Notification)
        .join(Pensioner, Pensioner.id == Notification.pensioner_id)
        .where(
            Notification.season_year == season.year,
            Notification.delivery_status == literal_column("'failed'"),  # a literal, so the partial index applies
            or_(Notification.kind.startswith("reminder"), Notification.kind.startswith("notice")),
            scope_col == region.code,
        )
        .group_by(group_col)
    )
    return {code: int(n) for code, n in rows}


def _trend(
    *, session: Session, season: Season, region: Region, child_level: RegionLevel | None
) -> dict[str, list[tuple[date, int]]]:
    """Certifications per local day: of each child region, or of the community itself."""
    trend_by: dict[str, list[tuple[date, int]]] = {}
    if child_level is not None:
        day_child = getattr(RiskRollupDay, _LEVEL_COLUMN[child_level])
        scope_col = getattr(RiskRollupDay, _LEVEL_COLUMN[RegionLevel(region.level)])
        for row in session.execute(
            select(day_child, RiskRollupDay.day, func.sum(RiskRollupDay.certified))
            .where(RiskRollupDay.season_year == season.year, scope_col == region.code)
            .group_by(day_child, RiskRollupDay.day)
            .order_by(RiskRollupDay.day)
        ):
            trend_by.setdefault(row[0], []).append((_as_date(row[1]), int(row[2])))
    else:
        for row in session.execute(
            select(RiskRollupDay.day, func.sum(RiskRollupDay.certified))
            .where(RiskRollupDay.season_year == season.year, RiskRollupDay.region_code == region.code)
            .group_by(RiskRollupDay.day)
            .order_by(RiskRollupDay.day)
        ):
            trend_by.setdefault(region.code, []).append((_as_date(row[0]), int(row[1])))
    return trend_by


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _figures(region: Region, row: Any) -> RegionFigures:
    fig = RegionFigures(region.code, region.name, region.level)
    if row is None:
        fig.certified_by_channel = dict.fromkeys(CHANNELS, 0)
        return fig
    for name in _SUMMED:
        if not name.startswith("certified_"):
            setattr(fig, name, int(row[name]))
    fig.at_risk = int(row["at_risk"])
    fig.certified_by_channel = {ch: int(row[f"certified_{ch}"]) for ch in CHANNELS}
    fig.certified = sum(fig.certified_by_channel.values())
    return fig


def _project(fig: RegionFigures, windows: Windows, session: Session, today: date) -> None:
    """Pending people left at suspension time if the last 7 days' pace holds (region's own window)."""
    region = session.get(Region, fig.code)
    window = windows.for_region(region) if region else windows.for_chain([])
    fig.deadline = window.close_date
    fig.days_left = (window.close_date - today).days
    recent = sum(n for d, n in fig.trend if today - timedelta(days=7) < d <= today)
    days_to_suspension = max(0, (window.suspend_after - today).days + 1)
    fig.projected_suspensions = max(0, fig.pending - round(recent / 7 * days_to_suspension))
