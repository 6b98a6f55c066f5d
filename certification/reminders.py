"""The reminder sweep: one set-based INSERT … SELECT … ON CONFLICT DO NOTHING per window and recipient."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Insert,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from certification import lifecycle, seasons
from core.settings import Settings
from messaging import notices, outbox, sender
from models import Certification, Notification, Pensioner, Season, SeasonRegionWindow
from models.engine import analyze, dialect_insert, session_scope
from models.enums import Channel, NotificationStatus, OutboxLane

ANALYZE_AFTER_ROWS = 10_000  # a sweep that queued this many rows refreshes the planner's statistics

_REMINDER_COLUMNS = [
    "pensioner_id",
    "phone",
    "channel",
    "lane",
    "kind",
    "season_year",
    "recipient",
    "deadline_date",
    "subject_name",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def latest_due_kind(window: seasons.Window, today: date, offsets: list[int], *, with_open: bool = True) -> str | None:
    """The newest reminder due by `today` ('open', 'd30' … 'd1'); older missed ones are never sent."""
    if today > window.close_date or today < window.open_date:
        return None
    due: list[tuple[date, int, str]] = []
    if with_open:
        due.append((window.open_date, 0, "open"))
    for i, d in enumerate(sorted(offsets, reverse=True), start=1):
        day = window.close_date - timedelta(days=d)
        if day >= window.open_date or not with_open:
            due.append((day, i, f"d{d}"))
    due = [x for x in due if x[0] <= today]
    return max(due)[2] if due else None


def first_send_time(now: datetime, settings: Settings) -> datetime:
    """Now, or the end of tonight's quiet hours (no SMS 21:00–08:00 local time)."""
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    if settings.sms_quiet_end_hour <= local.hour < settings.sms_quiet_start_hour:
        return now
    day = local.date() if local.hour < settings.sms_quiet_end_hour else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, settings.sms_quiet_end_hour, tzinfo=tz).astimezone(now.tzinfo)


def queue_reminders(
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    kind: str,
    deadline: date,
    today: date,
    now: datetime,
    settings: Settings,
    require_uncertified: bool = True,
) -> int:
    """Queue one reminder kind to every matching active, uncertified pensioner (and family copies); returns rows queued."""
    send_at = first_send_time(now, settings)
    eighty = seasons.add_months(today, -12 * settings.reminder_family_min_age)
    base = lifecycle.active_members(where, season_year=season_year, require_uncertified=require_uncertified)
    # Self and family copies in one statement: one scan of the cohort instead of two.
    # No text per row: the sender renders it from kind, recipient, deadline and, for family copies, the masked
    # name of whose reminder it is (subject_name; see outbox.message_text).
    sources = [
        select(
            Pensioner.id,
            phone_col,
            channel_col,
            literal(OutboxLane.BULK.value),
            literal(f"{lifecycle.REMINDER_KIND_PREFIX}_{kind}"),
            literal(season_year),
            literal(recipient),
            literal(deadline, Notification.__table__.c.deadline_date.type),
            subject,
            literal(NotificationStatus.PENDING.value),
            literal(0),
            literal(send_at, Notification.__table__.c.next_attempt_at.type),
            literal(now, Notification.__table__.c.created_at.type),
        ).where(and_(*base, phone_col.is_not(None), phone_col != "", *extra))
        for recipient, phone_col, channel_col, extra, subject in (
            ("self", Pensioner.phone, Pensioner.preferred_channel, [], cast(null(), String)),  # SMS is the fallback
            (
                "family",
                Pensioner.family_phone,
                literal(Channel.SMS.value),
                [or_(Pensioner.bedridden.is_(True), Pensioner.birth_date <= eighty)],
                notices.masked_name_sql(),
            ),
        )
    ]
    stmt: Insert = (
        dialect_insert(session, Notification)
        .from_select(
            _REMINDER_COLUMNS,
            union_all(*sources),
        )
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year", "kind", "recipient"])
    )
    return int(session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount or 0)  # type: ignore[attr-defined]


def sweep_reminders(*, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Queue the latest due reminder for every cohort; safe to run any number of times, anywhere."""
    today = seasons.local_date(now, settings.timezone)
    offsets = settings.reminder_offsets
    queued = 0
    if settings.season_policy == "rolling":
        lead = max(offsets, default=30)
        cohorts = seasons.rolling_cohorts(
            session=session, settings=settings, due_from=today, due_to=today + timedelta(days=lead)
        )
        with_open, require_uncertified = False, False  # certifying moves the due date out of range
    else:
        season = seasons.current_season(session=session, today=today)
        cohorts = seasons.window_cohorts(session=session, season=season, settings=settings) if season else []
        with_open, require_uncertified = True, True
    for cohort in cohorts:
        kind = latest_due_kind(cohort.window, today, offsets, with_open=with_open)
        if kind is None:
            continue
        queued += queue_reminders(
            session=session,
            where=cohort.where,
            season_year=cohort.window.season_year,
            kind=kind,
            deadline=cohort.window.close_date,
            today=today,
            now=now,
            settings=settings,
            require_uncertified=require_uncertified,
        )
    session.flush()
    expired = expire_stale(session=session, settings=settings, now=now, superseded=queued > 0)
    if queued >= ANALYZE_AFTER_ROWS:
        analyze(session, Notification.__tablename__)  # the planner must see a million pending rows as such
    return {"reminders_queued": queued} | expired


def _superseded() -> ColumnElement[bool]:
    """A newer reminder exists for the same person, season and recipient."""
    newer = aliased(Notification)
    return exists().where(
        newer.pensioner_id == Notification.pensioner_id,
        newer.season_year == Notification.season_year,
        newer.recipient == Notification.recipient,
        newer.kind.startswith(lifecycle.REMINDER_KIND_PREFIX),
        newer.id > Notification.id,
    )


def _stale_rules(
    settings: Settings, today: date, *, superseded: bool
) -> list[tuple[NotificationStatus, ColumnElement[bool]]]:
    """Why a pending reminder lost its point, in the order they are checked (the first one names it).

    A person who certified is not checked here (a probe per pending row): certifying cancels their
    reminders, and every claimed batch is screened for it (`screen_claimed`).
    """
    rules: list[tuple[NotificationStatus, ColumnElement[bool]]] = []
    if superseded:
        rules.append((NotificationStatus.EXPIRED_SUPERSEDED, _superseded()))
    if settings.season_policy == "window":
        still_open = exists().where(
            SeasonRegionWindow.season_id == Season.id, SeasonRegionWindow.suspend_from_date > today
        )
        over = select(Season.year).where(Season.suspend_from_date <= today, ~still_open)
        latest = select(func.max(Season.year)).where(Season.open_date <= today).scalar_subquery()
        # A newcomer's own window may run past the season's: their reminder names a later deadline.
        past = or_(Notification.deadline_date.is_(None), Notification.deadline_date < today)
        ended = and_(or_(Notification.season_year.in_(over), Notification.season_year < latest), past)
        rules.append((NotificationStatus.EXPIRED_SEASON_ENDED, ended))
    rules.append((NotificationStatus.EXPIRED_DEADLINE, Notification.deadline_date < today))
    return rules


def expire_stale(*, session: Session, settings: Settings, now: datetime, superseded: bool = True) -> dict[str, int]:
    """Expire, unsent, the pending reminders that lost their point; returns the non-zero counts by status.

    superseded=False skips the newer-reminder check (nothing new was queued since the last run).
    """
    today = seasons.local_date(now, settings.timezone)
    counts: dict[str, int] = {}
    for status, rule in _stale_rules(settings, today, superseded=superseded):
        result = session.execute(
            update(Notification)
            .where(
                Notification.status == NotificationStatus.PENDING.value,
                Notification.kind.startswith(lifecycle.REMINDER_KIND_PREFIX),
                rule,
            )
            .values(status=status.value, next_attempt_at=None),
            execution_options={"synchronize_session": False},
        )
        if n := int(result.rowcount or 0):  # type: ignore[attr-defined]
            counts[f"reminders_{status.value}"] = n
    session.flush()
    return counts


def expire_certified(*, session: Session, first_id: int | None = None, end_id: int | None = None) -> int:
    """Expire, unsent, the pending reminders of people with a standing certification of that season; how many.

    Set-based (one UPDATE, each pending row probing the standing-certification index), for the people in
    [first_id, end_id) when given, so that a caller can walk the roster in short transactions. Every channel but
    the passive import cancels a person's reminders when it certifies; this clears what an import left.
    """
    standing = exists().where(
        Certification.pensioner_id == Notification.pensioner_id,
        Certification.season_year == Notification.season_year,
        Certification.withdrawn_at.is_(None),
    )
    status: ColumnElement[str] = Notification.__table__.c.status
    if first_id is not None and session.get_bind().dialect.name == "sqlite":
        # SQLite would walk every pending row by the status index for each batch (even with statistics): the
        # expression `status || ''` keeps it on the pensioner-first index's id range.
        status = Notification.status.concat("")
    where = [status == NotificationStatus.PENDING.value, Notification.kind.startswith(lifecycle.REMINDER_KIND_PREFIX)]
    # The range on both sides: PostgreSQL hash-joins a batch with only its own slice of the standing index.
    if first_id is not None:
        where.append(Notification.pensioner_id >= first_id)
        standing = standing.where(Certification.pensioner_id >= first_id)
    if end_id is not None:
        where.append(Notification.pensioner_id < end_id)
        standing = standing.where(Certification.pensioner_id < end_id)
    where.append(standing)
    result = session.execute(
        update(Notification)
        .where(*where)
        .values(status=NotificationStatus.EXPIRED_CERTIFIED.value, next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_certified_in_batches(*, session_factory: sessionmaker[Session], batch: int = 50_000) -> int:
    """`expire_certified` over the whole roster, `batch` pensioner ids per transaction (its own commits, as the
    sender's): run after a passive import has committed, so that no other writer waits behind one long UPDATE."""
    with session_scope(session_factory) as session:
        first, last = session.execute(select(func.min(Pensioner.id), func.max(Pensioner.id))).one()
    if first is None:
        return 0
    expired = 0
    for start in range(int(first), int(last) + 1, batch):
        with session_scope(session_factory) as session:
            expired += expire_certified(session=session, first_id=start, end_id=start + batch)
    if expired >= ANALYZE_AFTER_ROWS:
        with session_scope(session_factory) as session:
            analyze(session, Notification.__tablename__)  # a million rows left `pending`: the claim's plan must know
    return expired


def screen_claimed(
    session: Session, claimed: list[outbox.Claimed], today: date, cfg: sender.SenderConfig
) -> dict[int, str]:
    """Claimed reminders that lost their point since queued: the person certified, or a newer one superseded it."""
    rows = [c for c in claimed if c.kind.startswith(lifecycle.REMINDER_KIND_PREFIX) and c.pensioner_id is not None]
    if not rows:
        return {}
    ids = [c.id for c in rows]
    stale: dict[int, str] = {}
    if cfg.season_policy == "window":
        done = set(
            session.execute(
                select(Certification.pensioner_id, Certification.season_year).where(
                    Certification.pensioner_id.in_({c.pensioner_id for c in rows}),
                    Certification.withdrawn_at.is_(None),
                )
            ).tuples()
        )
        stale |= {
            c.id: NotificationStatus.EXPIRED_CERTIFIED.value for c in rows if (c.pensioner_id, c.season_year) in done
        }
    superseded = session.scalars(select(Notification.id).where(Notification.id.in_(ids), _superseded()))
    stale |= {i: NotificationStatus.EXPIRED_SUPERSEDED.value for i in superseded if i not in stale}
    return stale


sender.register_screen(screen_claimed)
