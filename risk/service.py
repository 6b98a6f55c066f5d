"""Supervisor risk figures: the per-community roll-up, the region summary and the at-risk list."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from certification import seasons
from core.errors import NotFound
from core.settings import Settings
from faces import service as face_service
from models import (
    Certification,
    HomeVisitTask,
    Notification,
    Pensioner,
    Region,
    RiskRollup,
    RiskRollupDay,
    Season,
    SeasonRegionWindow,
    VerificationAttempt,
)
from models.enums import CertificationChannel, HomeVisitTaskStatus, PensionStatus, RegionLevel
from registry import regions as region_service

CHANNELS = [c.value for c in CertificationChannel]
CHANNEL_ZH = {
    "app": "手机App",
    "home_visit": "上门认证",
    "counter": "窗口认证",
    "self_service_terminal": "自助终端",
    "data_comparison": "数据比对",
}
VisitFilter = Literal["none", "open", "overdue", "closed"]
SortKey = Literal["age", "-age", "days_left", "attempts", "name"]


# ---------------------------------------------------------------- seasons and windows


def resolve_season(*, session: Session, settings: Settings, year: int | None, now: datetime) -> Season:
    """The requested season, or the current one; NotFound when there is none."""
    if year is not None:
        return seasons.get_season(session=session, year=year)
    season = seasons.current_season(session=session, today=seasons.local_date(now, settings.timezone))
    if season is None:
        raise NotFound("当前没有认证期。", "No certification season.", code="season_not_found")
    return season


@dataclass(frozen=True)
class Windows:
    """A season's close dates: the city-wide one and each region's extension."""

    season: Season
    by_code: dict[str, seasons.Window]

    def for_chain(self, chain: Sequence[str | None]) -> seasons.Window:
        """The most specific window along community → town → district → city."""
        for code in chain:
            if code and code in self.by_code:
                return self.by_code[code]
        s = self.season
        return seasons.Window(s.year, s.open_date, s.close_date, s.grace_days, s.suspend_from_date)

    def for_region(self, region: Region) -> seasons.Window:
        """The window of a region itself (its own extension or an ancestor's)."""
        code = region.code
        chain = [code[:9] + "000", code[:6] + "000000", code[:4] + "00000000"]
        return self.for_chain([code, *chain])

    def deadline_key(self, cols: Sequence[Any]) -> ColumnElement[str]:
        """SQL: the code of the most specific extended region for rows with (community, town, district, city)."""
        codes = list(self.by_code)
        if not codes:
            return literal("")
        return case(*[(col.in_(codes), col) for col in cols], else_=literal(""))

    def days_left_at_most(self, cols: Sequence[Any], today: date, days: int) -> ColumnElement[bool]:
        """SQL: rows whose deadline is at most `days` days after `today` (negative: already past)."""
        limit = today + timedelta(days=days)
        key = self.deadline_key(cols)
        hits = [code for code, w in self.by_code.items() if w.close_date <= limit]
        conds: list[ColumnElement[bool]] = [key.in_(hits)] if hits else []
        if self.season.close_date <= limit:
            conds.append(key == "")
        return or_(*conds) if conds else false()

    def deadline_expr(self, cols: Sequence[Any]) -> ColumnElement[date]:
        """SQL: the close date that applies to each row."""
        if not self.by_code:
            return literal(self.season.close_date, Date)
        key = self.deadline_key(cols)
        whens = {code: literal(w.close_date, Date) for code, w in self.by_code.items()}
        return case(whens, value=key, else_=literal(self.season.close_date, Date))


def load_windows(*, session: Session, season: Season) -> Windows:
    """The season and its regional windows."""
    rows = session.scalars(select(SeasonRegionWindow).where(SeasonRegionWindow.season_id == season.id))
    return Windows(
        season,
        {
            w.region_code: seasons.Window(
                season.year, season.open_date, w.close_date, w.grace_days, w.suspend_from_date, w.region_code
            )
            for w in rows
        },
    )


def _pensioner_chain() -> list[Any]:
    return [Pensioner.region_code, Pensioner.town_code, Pensioner.district_code, Pensioner.city_code]


def _rollup_chain() -> list[Any]:
    return [RiskRollup.region_code, RiskRollup.town_code, RiskRollup.district_code, RiskRollup.city_code]


def _eighty_cutoff(today: date, age: int) -> date:
    return seasons.add_months(today, -12 * age)


# ---------------------------------------------------------------- the maintained roll-up


def _local_day(session: Session, column: Any, tz: str) -> ColumnElement[date]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(tz, column), Date)
    # SQLite stores UTC text; the service zone (Asia/Shanghai) has no daylight saving.
    offset = datetime.now(seasons.ZoneInfo(tz)).utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return func.date(column, f"{hours:+d} hours")


def refresh_rollup(*, session: Session, settings: Settings, season_year: int, now: datetime) -> int:
    """Recompute a season's per-community counts in two INSERT … SELECT … GROUP BY statements."""
    today = seasons.local_date(now, settings.timezone)
    session.execute(delete(RiskRollup).where(RiskRollup.season_year == season_year))
    session.execute(delete(RiskRollupDay).where(RiskRollupDay.season_year == season_year))
    cert = (
        select(Certification.pensioner_id, Certification.channel)
        .where(Certification.season_year == season_year)
        .subquery("c")
    )
    failed = (
        select(VerificationAttempt.pensioner_id, func.count().label("n"))
        .where(
            VerificationAttempt.season_year == season_year,
            face_service.failed_app_attempt(),
        )
        .group_by(VerificationAttempt.pensioner_id)
        .subquery("f")
    )
    task = (
        select(HomeVisitTask.pensioner_id, HomeVisitTask.status, HomeVisitTask.due_date)
        .where(HomeVisitTask.season_year == season_year)
        .subquery("t")
    )
    pending = cert.c.pensioner_id.is_(None)
    is_open = task.c.status == HomeVisitTaskStatus.OPEN.value

    def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    columns: dict[str, ColumnElement[Any]] = {
        "season_year": literal(season_year),
        "region_code": Pensioner.region_code.expression,
        "town_code": func.max(Pensioner.town_code),
        "district_code": func.max(Pensioner.district_code),
        "city_code": func.max(Pensioner.city_code),
        "computed_at": literal(now, RiskRollup.__table__.c.computed_at.type),
        "pensioners": func.count(),
        **{f"certified_{ch}": count_if(cert.c.channel == ch) for ch in CHANNELS},
        "pending": count_if(pending),
        "pending_bedridden": count_if(and_(pending, Pensioner.bedridden.is_(True))),
        "pending_80plus": count_if(
            and_(pending, Pensioner.birth_date <= _eighty_cutoff(today, settings.home_visit_min_age))
        ),
        "pending_failed_attempts": count_if(and_(pending, failed.c.n > 0)),
        "failed_attempts": func.coalesce(func.sum(failed.c.n), 0),
        "visits_open": count_if(is_open),
        "visits_overdue": count_if(and_(is_open, task.c.due_date < today)),
        "suspended": count_if(Pensioner.pension_status == PensionStatus.SUSPENDED.value),
    }
    source = (
        select(*[c.label(k) for k, c in columns.items()])
        .select_from(Pensioner)
        .outerjoin(cert, cert.c.pensioner_id == Pensioner.id)
        .outerjoin(failed, failed.c.pensioner_id == Pensioner.id)
        .outerjoin(task, task.c.pensioner_id == Pensioner.id)
        .where(Pensioner.pension_status != PensionStatus.TERMINATED.value)
        .group_by(Pensioner.region_code)
    )
    session.execute(insert(RiskRollup).from_select(list(columns), source))
    day = _local_day(session, Certification.certified_at, settings.timezone)
    day_source = (
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
        .where(Certification.season_year == season_year)
        .group_by(Pensioner.region_code, day)
    )
    session.execute(
        insert(RiskRollupDay).from_select(
            ["season_year", "region_code", "day", "town_code", "district_code", "city_code", "certified"], day_source
        )
    )
    session.flush()
    return int(session.scalar(select(func.count()).where(RiskRollup.season_year == season_year)) or 0)


def ensure_rollup(*, session: Session, settings: Settings, season_year: int, now: datetime) -> datetime:
    """Refresh the roll-up if it is missing or older than the configured age; returns its time."""
    computed = session.scalar(select(func.min(RiskRollup.computed_at)).where(RiskRollup.season_year == season_year))
    if computed is None or (now - computed).total_seconds() > settings.risk_rollup_max_age_seconds:
        refresh_rollup(session=session, settings=settings, season_year=season_year, now=now)
        return now
    return computed


# ---------------------------------------------------------------- summary


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
    at_risk_cond = windows.days_left_at_most(_rollup_chain(), today, settings.risk_days_left)
    sums = [func.coalesce(func.sum(getattr(RiskRollup, name)), 0).label(name) for name in _SUMMED]
    sums.append(func.coalesce(func.sum(case((at_risk_cond, RiskRollup.pending), else_=0)), 0).label("at_risk"))
    base = select(*sums).where(RiskRollup.season_year == season.year, scope_col == region.code)

    top = _figures(region, session.execute(base).one()._mapping)
    child_level = _CHILD_LEVEL.get(level)
    trend_by: dict[str, list[tuple[date, int]]] = {}
    if child_level is not None:
        child_col = getattr(RiskRollup, _LEVEL_COLUMN[child_level])
        grouped = {
            row.child: row._mapping
            for row in session.execute(base.add_columns(child_col.label("child")).group_by(child_col))
        }
        for child in region_service.children(session=session, code=region.code):
            top.children.append(_figures(child, grouped.get(child.code)))
        day_child = getattr(RiskRollupDay, _LEVEL_COLUMN[child_level])
        for row in session.execute(
            select(day_child, RiskRollupDay.day, func.sum(RiskRollupDay.certified))
            .where(
                RiskRollupDay.season_year == season.year, getattr(RiskRollupDay, _LEVEL_COLUMN[level]) == region.code
            )
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


# ---------------------------------------------------------------- the at-risk list


@dataclass(frozen=True)
class RiskFilter:
    """Filters of the at-risk list."""

    min_age: int | None = None
    max_age: int | None = None
    bedridden: bool | None = None
    max_days_left: int | None = None
    min_attempts: int | None = None
    visit: VisitFilter | None = None


@dataclass
class Reason:
    """Why someone is on the list."""

    code: str
    zh: str
    en: str


@dataclass
class RiskRow:
    """One at-risk pensioner with what is already under way."""

    id: int
    name: str
    national_id: str
    region_code: str
    region_name: str
    age: int
    bedridden: bool
    phone: str | None
    pension_status: str
    deadline: date
    days_left: int
    failed_attempts: int
    last_attempt_at: datetime | None
    visit_status: str | None
    visit_due_date: date | None
    visit_escalated: bool
    reminders_sent: int
    last_reminder_at: datetime | None
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class RiskPage:
    """A page of the at-risk list."""

    season_year: int
    today: date
    items: list[RiskRow]
    limit: int
    offset: int
    has_more: bool


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _failed_count(season_year: int) -> Any:
    return (
        select(func.count())
        .where(
            VerificationAttempt.pensioner_id == Pensioner.id,
            VerificationAttempt.season_year == season_year,
            face_service.failed_app_attempt(),
        )
        .correlate(Pensioner)
        .scalar_subquery()
    )


def at_risk_query(
    *, region: Region, season: Season, windows: Windows, settings: Settings, today: date, filters: RiskFilter
) -> Any:
    """SELECT of at-risk pensioners (pending, deadline near) in a region, filtered, unsorted."""
    days = settings.risk_days_left if filters.max_days_left is None else filters.max_days_left
    conds: list[ColumnElement[bool]] = [
        region_service.pensioner_scope(region),
        Pensioner.pension_status != PensionStatus.TERMINATED.value,
        ~exists().where(Certification.pensioner_id == Pensioner.id, Certification.season_year == season.year),
        windows.days_left_at_most(_pensioner_chain(), today, days),
    ]
    if filters.min_age is not None:
        conds.append(Pensioner.birth_date <= _eighty_cutoff(today, filters.min_age))
    if filters.max_age is not None:
        conds.append(Pensioner.birth_date > _eighty_cutoff(today, filters.max_age + 1))
    if filters.bedridden is not None:
        conds.append(Pensioner.bedridden.is_(filters.bedridden))
    if filters.min_attempts:
        conds.append(_failed_count(season.year) >= filters.min_attempts)
    if filters.visit is not None:
        task = exists().where(HomeVisitTask.pensioner_id == Pensioner.id, HomeVisitTask.season_year == season.year)
        is_open = HomeVisitTask.status == HomeVisitTaskStatus.OPEN.value
        if filters.visit == "none":
            conds.append(~task)
        elif filters.visit == "open":
            conds.append(task.where(is_open))
        elif filters.visit == "overdue":
            conds.append(task.where(is_open, HomeVisitTask.due_date < today))
        else:
            conds.append(task.where(~is_open))
    return select(Pensioner).where(*conds)


def _order(query: Any, sort: SortKey, windows: Windows, season_year: int) -> Any:
    if sort == "-age":
        return query.order_by(Pensioner.birth_date.desc(), Pensioner.id)
    if sort == "days_left":
        return query.order_by(windows.deadline_expr(_pensioner_chain()), Pensioner.birth_date, Pensioner.id)
    if sort == "attempts":
        return query.order_by(_failed_count(season_year).desc(), Pensioner.birth_date, Pensioner.id)
    if sort == "name":
        return query.order_by(Pensioner.name, Pensioner.id)
    return query.order_by(Pensioner.birth_date, Pensioner.id)


def _ordered_at_risk(
    *,
    session: Session,
    settings: Settings,
    region: Region,
    season: Season,
    now: datetime,
    filters: RiskFilter,
    sort: SortKey,
) -> tuple[date, Windows, Any]:
    """Today, the season's windows and the sorted at-risk query (for a page or an export)."""
    today = seasons.local_date(now, settings.timezone)
    windows = load_windows(session=session, season=season)
    query = at_risk_query(
        region=region, season=season, windows=windows, settings=settings, today=today, filters=filters
    )
    return today, windows, _order(query, sort, windows, season.year)


def at_risk_page(
    *,
    session: Session,
    settings: Settings,
    region: Region,
    season: Season,
    now: datetime,
    filters: RiskFilter,
    sort: SortKey = "age",
    limit: int = 50,
    offset: int = 0,
) -> RiskPage:
    """One page of the at-risk list, oldest first by default."""
    today, windows, ordered = _ordered_at_risk(
        session=session, settings=settings, region=region, season=season, now=now, filters=filters, sort=sort
    )
    people = list(session.scalars(ordered.limit(limit + 1).offset(offset)))
    rows = describe(
        session=session, settings=settings, season=season, windows=windows, today=today, people=people[:limit]
    )
    return RiskPage(season.year, today, rows, limit, offset, len(people) > limit)


def iter_at_risk(
    *,
    session: Session,
    settings: Settings,
    region: Region,
    season: Season,
    now: datetime,
    filters: RiskFilter,
    sort: SortKey = "age",
    max_rows: int,
) -> Iterator[RiskRow]:
    """Every at-risk row (up to max_rows) for exports, described in batches of 1,000."""
    today, windows, ordered = _ordered_at_risk(
        session=session, settings=settings, region=region, season=season, now=now, filters=filters, sort=sort
    )
    people = session.scalars(ordered.limit(max_rows)).all()
    for i in range(0, len(people), 1000):
        yield from describe(
            session=session, settings=settings, season=season, windows=windows, today=today, people=people[i : i + 1000]
        )


def describe(
    *,
    session: Session,
    settings: Settings,
    season: Season,
    windows: Windows,
    today: date,
    people: Sequence[Pensioner],
) -> list[RiskRow]:
    """Attempts, home visit and reminders of the given people (three queries), and their reasons."""
    ids = [p.id for p in people]
    if not ids:
        return []
    attempts = {
        r[0]: (int(r[1]), r[2])
        for r in session.execute(
            select(VerificationAttempt.pensioner_id, func.count(), func.max(VerificationAttempt.at))
            .where(
                VerificationAttempt.pensioner_id.in_(ids),
                VerificationAttempt.season_year == season.year,
                face_service.failed_app_attempt(),
            )
            .group_by(VerificationAttempt.pensioner_id)
        )
    }
    tasks = {
        t.pensioner_id: t
        for t in session.scalars(
            select(HomeVisitTask).where(HomeVisitTask.pensioner_id.in_(ids), HomeVisitTask.season_year == season.year)
        )
    }
    reminders = {
        r[0]: (int(r[1]), r[2])
        for r in session.execute(
            select(Notification.pensioner_id, func.count(), func.max(Notification.sent_at))
            .where(
                Notification.pensioner_id.in_(ids),
                Notification.season_year == season.year,
                Notification.kind.startswith("reminder"),
                Notification.status == "sent",
            )
            .group_by(Notification.pensioner_id)
        )
    }
    names = {
        code: name
        for code, name in session.execute(
            select(Region.code, Region.name).where(Region.code.in_({p.region_code for p in people}))
        )
    }
    out = []
    for p in people:
        window = windows.for_chain([p.region_code, p.town_code, p.district_code, p.city_code])
        n_failed, last_attempt = attempts.get(p.id, (0, None))
        n_sent, last_sent = reminders.get(p.id, (0, None))
        task = tasks.get(p.id)
        row = RiskRow(
            id=p.id,
            name=p.name,
            national_id=p.national_id,
            region_code=p.region_code,
            region_name=names.get(p.region_code, p.region_code),
            age=_age(p.birth_date, today),
            bedridden=p.bedridden,
            phone=p.phone or p.family_phone,
            pension_status=p.pension_status,
            deadline=window.close_date,
            days_left=(window.close_date - today).days,
            failed_attempts=n_failed,
            last_attempt_at=last_attempt,
            visit_status=task.status if task else None,
            visit_due_date=task.due_date if task else None,
            visit_escalated=bool(task and task.escalated_at),
            reminders_sent=n_sent,
            last_reminder_at=last_sent,
        )
        row.reasons = reasons(row, settings=settings, today=today)
        out.append(row)
    return out


def reasons(row: RiskRow, *, settings: Settings, today: date) -> list[Reason]:
    """Reason codes with Chinese and English text, most urgent first."""
    out = []
    if row.days_left < 0:
        out.append(
            Reason(
                "deadline_passed",
                f"已超过截止日期{-row.days_left}天",
                f"deadline passed {-row.days_left} days ago",
            )
        )
    else:
        out.append(Reason("deadline_near", f"距截止日期仅剩{row.days_left}天", f"{row.days_left} days left"))
    if row.pension_status == PensionStatus.SUSPENDED.value:
        out.append(Reason("suspended", "养老金已暂停发放", "pension suspended"))
    if row.bedridden:
        out.append(Reason("bedridden", "卧床，无法到窗口认证", "bedridden"))
    if row.age >= settings.home_visit_min_age:
        out.append(Reason("age_80", f"{row.age}岁高龄", f"aged {row.age}"))
    if row.failed_attempts:
        out.append(
            Reason(
                "failed_attempts",
                f"App刷脸认证失败{row.failed_attempts}次",
                f"{row.failed_attempts} failed app face checks",
            )
        )
    if row.visit_status == HomeVisitTaskStatus.OPEN.value and row.visit_due_date and row.visit_due_date < today:
        out.append(Reason("visit_overdue", "上门认证任务已逾期", "home visit overdue"))
    if not row.phone:
        out.append(Reason("no_phone", "无联系电话，无法发送提醒", "no phone to remind"))
    return out


def under_way(row: RiskRow) -> list[Reason]:
    """What is already being done for the person."""
    out = []
    if row.visit_status == HomeVisitTaskStatus.OPEN.value:
        due = row.visit_due_date.isoformat() if row.visit_due_date else ""
        out.append(Reason("home_visit_open", f"已安排上门认证（{due}前）", f"home visit open, due {due}"))
    elif row.visit_status:
        out.append(Reason(f"home_visit_{row.visit_status}", "上门认证任务已关闭", f"home visit {row.visit_status}"))
    if row.visit_escalated:
        out.append(Reason("home_visit_escalated", "上门任务已上报督办", "home visit escalated"))
    if row.reminders_sent:
        out.append(
            Reason("reminders_sent", f"已发送提醒短信{row.reminders_sent}条", f"{row.reminders_sent} reminders sent")
        )
    return out


def scoped_region(*, session: Session, staff_region: Region, code: str | None) -> Region:
    """The requested region if it lies within the staff member's jurisdiction, else NotFound."""
    if not code:
        return staff_region
    region = region_service.get_region(session=session, code=code)
    if not region_service.region_within(session=session, inner_code=region.code, outer=staff_region):
        raise NotFound("未找到该区划。", "Region not found.", code="region_not_found")
    return region
