"""The at-risk list: pending pensioners near their deadline, why they are at risk and what is under way."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from certification import seasons
from core.settings import Settings
from faces import service as face_service
from models import Certification, HomeVisitTask, Notification, Pensioner, Region, Season, VerificationAttempt
from models.enums import HomeVisitTaskStatus, PensionStatus
from registry import regions as region_service
from risk.windows import Windows, born_by, load_windows, pensioner_chain

VisitFilter = Literal["none", "open", "overdue", "closed"]
SortKey = Literal["age", "-age", "days_left", "attempts", "name"]


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
        ~exists().where(
            Certification.pensioner_id == Pensioner.id,
            Certification.season_year == season.year,
            Certification.withdrawn_at.is_(None),
        ),
        windows.days_left_at_most(pensioner_chain(), today, days),
    ]
    if filters.min_age is not None:
        conds.append(Pensioner.birth_date <= born_by(today, filters.min_age))
    if filters.max_age is not None:
        conds.append(Pensioner.birth_date > born_by(today, filters.max_age + 1))
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
        return query.order_by(windows.deadline_expr(pensioner_chain()), Pensioner.birth_date, Pensioner.id)
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


@dataclass(frozen=True)
class _Activity:
    """What has happened this season for a batch of people, by pensioner id."""

    attempts: Mapping[int, tuple[int, datetime | None]]
    tasks: Mapping[int, HomeVisitTask]
    reminders: Mapping[int | None, tuple[int, datetime | None]]
    region_names: Mapping[str, str]


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
    if not people:
        return []
    activity = _activity(session=session, season_year=season.year, people=people)
    out = []
    for p in people:
        row = _row(p, windows.for_chain([p.region_code, p.town_code, p.district_code, p.city_code]), activity, today)
        row.reasons = reasons(row, settings=settings, today=today)
        out.append(row)
    return out


def _activity(*, session: Session, season_year: int, people: Sequence[Pensioner]) -> _Activity:
    """Failed app attempts, home-visit tasks, sent reminders and community names of the people."""
    ids = [p.id for p in people]
    attempts = {
        r[0]: (int(r[1]), r[2])
        for r in session.execute(
            select(VerificationAttempt.pensioner_id, func.count(), func.max(VerificationAttempt.at))
            .where(
                VerificationAttempt.pensioner_id.in_(ids),
                VerificationAttempt.season_year == season_year,
                face_service.failed_app_attempt(),
            )
            .group_by(VerificationAttempt.pensioner_id)
        )
    }
    tasks = {
        t.pensioner_id: t
        for t in session.scalars(
            select(HomeVisitTask).where(HomeVisitTask.pensioner_id.in_(ids), HomeVisitTask.season_year == season_year)
        )
    }
    reminders = {
        r[0]: (int(r[1]), r[2])
        for r in session.execute(
            select(Notification.pensioner_id, func.count(), func.max(Notification.sent_at))
            .where(
                Notification.pensioner_id.in_(ids),
                Notification.season_year == season_year,
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
    return _Activity(attempts, tasks, reminders, names)


def _row(p: Pensioner, window: seasons.Window, activity: _Activity, today: date) -> RiskRow:
    """One person's row, without reasons."""
    n_failed, last_attempt = activity.attempts.get(p.id, (0, None))
    n_sent, last_sent = activity.reminders.get(p.id, (0, None))
    task = activity.tasks.get(p.id)
    return RiskRow(
        id=p.id,
        name=p.name,
        national_id=p.national_id,
        region_code=p.region_code,
        region_name=activity.region_names.get(p.region_code, p.region_code),
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
