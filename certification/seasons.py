"""Seasons and regional windows: creating them, and finding a pensioner's deadline."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, literal, select, true
from sqlalchemy.orm import Session

from certification.errors import (
    CloseBeforeOpen,
    InvalidGraceDays,
    InvalidSeasonYear,
    InvalidSuspendFrom,
    OpenOutsideYear,
    SeasonExists,
    SeasonNotFound,
    SeasonOverlap,
)
from core import audit
from core.settings import Settings
from models import Pensioner, Region, Season, SeasonRegionWindow
from registry.errors import RegionNotFound


def local_date(now: datetime, tz: str) -> date:
    """The calendar date at `now` in the service's time zone (Asia/Shanghai)."""
    return now.astimezone(ZoneInfo(tz)).date()


def first_of_next_month(day: date) -> date:
    """The 1st of the month after `day`."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start's month to end's month (never negative)."""
    return max(0, (end.year * 12 + end.month) - (start.year * 12 + start.month))


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (29 Feb + 12 → 28 Feb)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def suspend_from(close_date: date, grace_days: int) -> date:
    """Default effective date of a suspension: the 1st of the month after close + grace."""
    return first_of_next_month(close_date + timedelta(days=grace_days))


def _month_day(year: int, text: str) -> date:
    month, day = (int(x) for x in text.split("-"))
    return date(year, month, day)


@dataclass(frozen=True)
class Window:
    """The dates that apply to one pensioner (or one group of them) in one season."""

    season_year: int
    open_date: date
    close_date: date
    grace_days: int
    suspend_from_date: date
    region_code: str | None = None  # None: the city-wide season

    @property
    def suspend_after(self) -> date:
        """Last day before suspension: pending people are suspended from the next day on."""
        return self.close_date + timedelta(days=self.grace_days)


def create_season(
    *,
    session: Session,
    settings: Settings,
    year: int,
    open_date: date | None = None,
    close_date: date | None = None,
    grace_days: int | None = None,
    suspend_from_date: date | None = None,
    actor_id: int | None = None,
) -> Season:
    """Create the season for `year`; defaults from settings (1 April – 30 June); no overlaps."""
    if not 2000 <= year <= 2100:
        raise InvalidSeasonYear()
    open_date = open_date or _month_day(year, settings.season_open_month_day)
    close_date = close_date or _month_day(year, settings.season_close_month_day)
    grace = settings.season_grace_days if grace_days is None else grace_days
    if grace < 0 or grace > 366:
        raise InvalidGraceDays()
    if close_date < open_date:
        raise CloseBeforeOpen()
    if open_date.year != year:
        raise OpenOutsideYear(year)
    effective = suspend_from_date or suspend_from(close_date, grace)
    if effective <= close_date + timedelta(days=grace):
        raise InvalidSuspendFrom()
    if session.scalar(select(Season.id).where(Season.year == year)) is not None:
        raise SeasonExists(year)
    overlap = session.scalar(
        select(Season.year).where(Season.open_date <= effective, Season.suspend_from_date >= open_date).limit(1)
    )
    if overlap is not None:
        raise SeasonOverlap.with_season(overlap)
    season = Season(
        year=year, open_date=open_date, close_date=close_date, grace_days=grace, suspend_from_date=effective
    )
    session.add(season)
    session.flush()
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="season.created",
        target_type="season",
        target_id=year,
        detail={"open": open_date.isoformat(), "close": close_date.isoformat(), "grace_days": grace},
    )
    return season


def extend_window(
    *,
    session: Session,
    year: int,
    region_code: str,
    close_date: date,
    grace_days: int | None = None,
    actor_id: int | None = None,
) -> SeasonRegionWindow:
    """Give a region (community/town/district/city) its own close date for a season; upsert."""
    season = get_season(session=session, year=year)
    if session.get(Region, region_code) is None:
        raise RegionNotFound()
    if close_date < season.open_date:
        raise CloseBeforeOpen()
    grace = season.grace_days if grace_days is None else grace_days
    if grace < 0 or grace > 366:
        raise InvalidGraceDays()
    effective = suspend_from(close_date, grace)
    following = session.scalar(select(Season.open_date).where(Season.year > year).order_by(Season.year).limit(1))
    if following is not None and effective > following:
        raise SeasonOverlap()
    window = session.scalar(
        select(SeasonRegionWindow).where(
            SeasonRegionWindow.season_id == season.id, SeasonRegionWindow.region_code == region_code
        )
    )
    if window is None:
        window = SeasonRegionWindow(season_id=season.id, region_code=region_code)
        session.add(window)
    window.close_date = close_date
    window.grace_days = grace
    window.suspend_from_date = effective
    session.flush()
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="season.window_set",
        target_type="season",
        target_id=year,
        detail={"region_code": region_code, "close": close_date.isoformat(), "grace_days": grace},
    )
    return window


def get_season(*, session: Session, year: int) -> Season:
    """The season of `year`, or NotFound."""
    season = session.scalar(select(Season).where(Season.year == year))
    if season is None:
        raise SeasonNotFound(year)
    return season


def current_season(*, session: Session, today: date) -> Season | None:
    """The latest season that has opened by `today` (certifying late still counts for it)."""
    return session.scalar(select(Season).where(Season.open_date <= today).order_by(Season.open_date.desc()).limit(1))


def list_seasons(*, session: Session) -> list[Season]:
    """All seasons, newest first."""
    return list(session.scalars(select(Season).order_by(Season.year.desc())))


def _season_window(season: Season) -> Window:
    return Window(season.year, season.open_date, season.close_date, season.grace_days, season.suspend_from_date)


def _region_window(season: Season, w: SeasonRegionWindow) -> Window:
    return Window(season.year, season.open_date, w.close_date, w.grace_days, w.suspend_from_date, w.region_code)


def window_for(*, session: Session, season: Season, pensioner: Pensioner) -> Window:
    """The pensioner's window: the most specific of community, town, district, city, else the season's."""
    chain = [pensioner.region_code, pensioner.town_code, pensioner.district_code, pensioner.city_code]
    found = region_windows(session=session, season=season)
    for code in chain:
        if code and code in found:
            return found[code]
    return _season_window(season)


def region_windows(*, session: Session, season: Season) -> dict[str, Window]:
    """The season's regional windows by region code, in code order."""
    rows = session.scalars(
        select(SeasonRegionWindow)
        .where(SeasonRegionWindow.season_id == season.id)
        .order_by(SeasonRegionWindow.region_code)
    )
    return {w.region_code: _region_window(season, w) for w in rows}


def deadline_for(
    *, session: Session, settings: Settings, pensioner: Pensioner, today: date
) -> tuple[Window | None, date | None]:
    """(window, deadline) for a pensioner as of `today`, under either policy; (None, None) when none applies."""
    if settings.season_policy == "rolling":
        due = pensioner.certification_due_date
        if due is None:
            return None, None
        return rolling_window(settings, due), due
    season = current_season(session=session, today=today)
    if season is None:
        return None, None
    window = window_for(session=session, season=season, pensioner=pensioner)
    return window, window.close_date


def rolling_window(settings: Settings, due: date) -> Window:
    """Rolling policy: the person's own deadline, opening when the first reminder is due."""
    lead = max(settings.reminder_offsets, default=30)
    return Window(
        due.year,
        due - timedelta(days=lead),
        due,
        settings.season_grace_days,
        suspend_from(due, settings.season_grace_days),
    )


@dataclass(frozen=True)
class Cohort:
    """Pensioners sharing one window: the SQL condition selecting them, and its dates."""

    window: Window
    where: ColumnElement[bool]


def window_cohorts(*, session: Session, season: Season) -> list[Cohort]:
    """Partition the city by window: one cohort per regional window plus the rest (most specific wins)."""
    windows = region_windows(session=session, season=season)
    if not windows:
        return [Cohort(_season_window(season), true())]
    codes = list(windows)
    # Division codes are unique across levels, so one IN list per column finds the most specific match.
    key = case(
        (Pensioner.region_code.in_(codes), Pensioner.region_code),
        (Pensioner.town_code.in_(codes), Pensioner.town_code),
        (Pensioner.district_code.in_(codes), Pensioner.district_code),
        (Pensioner.city_code.in_(codes), Pensioner.city_code),
        else_=literal(""),
    )
    cohorts = [Cohort(w, key == code) for code, w in windows.items()]
    cohorts.append(Cohort(_season_window(season), key == ""))
    return cohorts


def rolling_cohorts(*, session: Session, settings: Settings, due_from: date, due_to: date) -> list[Cohort]:
    """Rolling policy: one cohort per distinct due date in [due_from, due_to] among active pensioners."""
    dues = session.scalars(
        select(Pensioner.certification_due_date)
        .where(
            Pensioner.certification_due_date >= due_from,
            Pensioner.certification_due_date <= due_to,
            Pensioner.pension_status == "active",
        )
        .distinct()
    ).all()
    return [
        Cohort(rolling_window(settings, d), Pensioner.certification_due_date == d) for d in sorted(d for d in dues if d)
    ]
