"""Seasons and regional windows: creating them, and finding a pensioner's deadline."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, literal, or_, select, true
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
from core.settings import Settings, get_settings
from models import Pensioner, Region, Season, SeasonRegionWindow
from models.enums import RegionLevel
from registry.errors import OutsideJurisdiction, RegionNotFound
from registry.regions import normalise_code, region_within


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
    joined_on: date | None = None  # set: the own window of the people added to the roster that day

    @property
    def suspend_after(self) -> date:
        """Last day before suspension: pending people are suspended from the next day on."""
        return self.close_date + timedelta(days=self.grace_days)

    @property
    def label(self) -> str | None:
        """What the window is of, for audit events: a region code, `added:<day>`, or None (the season's)."""
        return f"added:{self.joined_on.isoformat()}" if self.joined_on else self.region_code


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
    jurisdiction: Region | None = None,
) -> Season:
    """Create the season for `year`; defaults from settings (1 April – 30 June); no overlaps.

    A season is the service city's (settings.city_code): with a `jurisdiction` (an admin's; None is the
    operator's CLI) only that city itself may create one; a district or another city gets OutsideJurisdiction.
    """
    if jurisdiction is not None and (jurisdiction.level != RegionLevel.CITY or jurisdiction.code != settings.city_code):
        raise OutsideJurisdiction()
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
    jurisdiction: Region | None = None,
    settings: Settings | None = None,
) -> SeasonRegionWindow:
    """Give a region (community/town/district/city) its own close date for a season; upsert.

    The region must lie inside `jurisdiction` (an admin's; None is the operator's CLI), else RegionNotFound
    as for a missing one, and inside the service city whose season it is, else OutsideJurisdiction.
    """
    settings = settings or get_settings()
    region_code = normalise_code(region_code)
    if jurisdiction is not None and not region_within(session=session, inner_code=region_code, outer=jurisdiction):
        raise RegionNotFound()
    season = get_season(session=session, year=year)
    if session.get(Region, region_code) is None:
        raise RegionNotFound()
    city = session.get(Region, settings.city_code)
    if city is None or not region_within(session=session, inner_code=region_code, outer=city):
        raise OutsideJurisdiction()
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


def window_for(
    *, session: Session, season: Season, pensioner: Pensioner, new_pensioner_days: int | None = None
) -> Window:
    """The pensioner's window: the most specific of community, town, district, city, else the season's.

    With `new_pensioner_days`, someone added to the roster too late to have that many days before it gets
    their own window instead (see `newcomer_window`).
    """
    chain = [pensioner.region_code, pensioner.town_code, pensioner.district_code, pensioner.city_code]
    found = region_windows(session=session, season=season)
    window = next((found[code] for code in chain if code and code in found), _season_window(season))
    if new_pensioner_days is None or pensioner.added_on is None:
        return window
    own = newcomer_window(season, pensioner.added_on, new_pensioner_days)
    return own if own.close_date > window.close_date else window


def newcomer_window(season: Season, joined_on: date, days: int) -> Window:
    """The own window of people added on `joined_on`: `days` to certify from that day, the season's grace."""
    close = joined_on + timedelta(days=days)
    return Window(
        season.year, joined_on, close, season.grace_days, suspend_from(close, season.grace_days), None, joined_on
    )


def _following_open(session: Session, season: Season) -> date | None:
    """Opening day of the next season, if created."""
    return session.scalar(select(Season.open_date).where(Season.year > season.year).order_by(Season.year).limit(1))


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
    window = window_for(
        session=session, season=season, pensioner=pensioner, new_pensioner_days=settings.new_pensioner_days
    )
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


def window_key(codes: list[str]) -> ColumnElement[str]:
    """The code of a pensioner's most specific regional window among `codes`, or '' (the season's)."""
    return case(
        (Pensioner.region_code.in_(codes), Pensioner.region_code),
        (Pensioner.town_code.in_(codes), Pensioner.town_code),
        (Pensioner.district_code.in_(codes), Pensioner.district_code),
        (Pensioner.city_code.in_(codes), Pensioner.city_code),
        else_=literal(""),
    )


def window_cohorts(*, session: Session, season: Season, settings: Settings) -> list[Cohort]:
    """Partition the city by window: one cohort per regional window plus the rest (most specific wins).

    People added to the roster (`added_on`) less than `new_pensioner_days` before their window's close are
    left out of it: they form one cohort per day they were added, with a window of their own
    (`newcomer_window`) — unless that would reach into the next season, which then covers them.
    """
    windows = region_windows(session=session, season=season)
    days = timedelta(days=settings.new_pensioner_days)
    # Division codes are unique across levels, so one IN list per column finds the most specific match.
    key = window_key(list(windows))

    def member(code: str) -> ColumnElement[bool]:
        return key == code if windows else true()

    regional = [*windows.items(), ("", _season_window(season))]
    cohorts = [
        Cohort(w, and_(member(code), or_(Pensioner.added_on.is_(None), Pensioner.added_on <= w.close_date - days)))
        for code, w in regional
    ]
    earliest = min(w.close_date for _, w in regional) - days
    following = _following_open(session, season)
    joined = session.scalars(select(Pensioner.added_on).where(Pensioner.added_on > earliest).distinct()).all()
    for day in sorted(d for d in joined if d is not None):
        own = newcomer_window(season, day, settings.new_pensioner_days)
        if following is not None and own.close_date >= following:
            continue
        late_for = [member(code) for code, w in regional if own.close_date > w.close_date]
        cohorts.append(Cohort(own, and_(Pensioner.added_on == day, or_(*late_for))))
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
