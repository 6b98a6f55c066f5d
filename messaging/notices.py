"""Notices people expect (suspension, reinstatement, home-visit appointment), queued set-based with family copies.

Every function takes a set of pensioner ids (a list or a `select(...)` of ids) and writes one
INSERT … SELECT per text, so the suspension sweep and the set-based imports queue a million notices in a
few statements. Bulk notices wait out the quiet hours. Each row has a `kind` (`notice_*`) and a season,
so a rule can cancel or expire the ones whose point is gone (e.g. a suspension notice after the person
certified: `cancel_pending_notices`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from core.settings import Settings
from messaging import texts
from models import Notification, Pensioner, Reinstatement
from models.engine import dialect_insert
from models.enums import Channel, NotificationStatus, OutboxLane, PensionStatus, ReinstatementKind

NOTICE_KIND_PREFIX = "notice"
# Kinds of a season's suspension and reinstatement notices carry the month (notice_suspension_202607), so
# a person suspended again from a later date (after a window extension) gets a notice of their own, while a
# sweep run twice queues none twice (the outbox key: pensioner, season, kind, recipient).
SUSPENSION_NOTICE = "notice_suspension"
REINSTATEMENT_NOTICE = "notice_reinstatement"
APPOINTMENT_NOTICE = "notice_home_visit"


def notice_kind(prefix: str, month: date) -> str:
    """notice_suspension_202607: a notice kind with the month it is about."""
    return f"{prefix}_{month:%Y%m}"


# Who: a select of pensioner ids, the ids, or a condition on Pensioner (cheapest: no second scan to match ids).
PensionerIds = Select[Any] | Sequence[int] | ColumnElement[bool]
Render = Callable[[str | None], tuple[str, str]]  # whose (None: to the pensioner) -> (zh, en)

_COLUMNS = [
    "pensioner_id",
    "phone",
    "channel",
    "lane",
    "kind",
    "season_year",
    "recipient",
    "deadline_date",
    "subject_name",
    "body_zh",
    "body_en",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def bulk_send_time(now: datetime, settings: Settings) -> datetime:
    """Now, or the end of tonight's quiet hours: bulk notices never go out at night."""
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    if settings.sms_quiet_end_hour <= local.hour < settings.sms_quiet_start_hour:
        return now
    day = local.date() if local.hour < settings.sms_quiet_end_hour else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, settings.sms_quiet_end_hour, tzinfo=tz).astimezone(now.tzinfo)


def _born_by(today: date, years: int) -> date:
    """The latest birth date of someone `years` old today (29 Feb counts as 28 Feb)."""
    year = today.year - years
    return date(year, today.month, 28) if (today.month, today.day) == (2, 29) else today.replace(year=year)


def family_copy_due(*, today: date, settings: Settings) -> ColumnElement[bool]:
    """Who gets a family copy: bedridden, or at least the reminders' family age (80 by default)."""
    return or_(Pensioner.bedridden.is_(True), Pensioner.birth_date <= _born_by(today, settings.reminder_family_min_age))


def masked_name_sql() -> ColumnElement[str]:
    """SQL of texts.mask_name(Pensioner.name): 张*明, 张* for two characters."""
    length = func.length(Pensioner.name)
    first = func.substr(Pensioner.name, 1, 1, type_=String)
    last = func.substr(Pensioner.name, length, 1, type_=String)
    return case(
        (length <= 1, Pensioner.name),
        (length == 2, first + literal("*", String)),
        else_=first + literal("*", String) + last,
    )


def with_masked_name(template: str) -> ColumnElement[str]:
    """A text whose WHOSE mark is replaced, per row, by the pensioner's masked name."""
    head, _, tail = template.partition(texts.WHOSE)
    return literal(head, Text) + masked_name_sql() + literal(tail, Text)


def _ids(pensioner_ids: PensionerIds, column: Any = Pensioner.id) -> ColumnElement[bool]:
    """The condition selecting these pensioners (on `column`, the pensioner id of the table queried)."""
    if isinstance(pensioner_ids, ColumnElement):
        return pensioner_ids if column is Pensioner.id else column.in_(select(Pensioner.id).where(pensioner_ids))
    return column.in_(pensioner_ids if isinstance(pensioner_ids, Select) else list(pensioner_ids))


TextColumns = tuple[ColumnElement[Any], ColumnElement[Any]]


def _texts(render: Render, rendered_at_send: date | None) -> tuple[TextColumns, TextColumns]:
    """(zh, en) columns of the pensioners' rows and of the family rows: NULL when rendered at send time."""
    if rendered_at_send:
        no_text: TextColumns = (cast(null(), Text), cast(null(), Text))
        return no_text, no_text
    own_zh, own_en = render(None)
    fam_zh, fam_en = render(texts.WHOSE)
    return (literal(own_zh, Text), literal(own_en, Text)), (with_masked_name(fam_zh), with_masked_name(fam_en))


def _queue(
    *,
    session: Session,
    where: ColumnElement[bool],
    kind: str,
    season_year: int | None,
    render: Render,
    family: ColumnElement[bool],
    now: datetime,
    send_at: datetime,
    rendered_at_send: date | None = None,
    unless_latest_same: bool = False,
) -> int:
    """One INSERT … SELECT of the pensioners' copies and, where `family` holds, the family copies.

    With `rendered_at_send` (a date), no row carries text: the sender renders it from kind, that date and, for
    family copies, `subject_name` (outbox.message_text); a million stored texts would cost most of the INSERT.
    With `unless_latest_same`, a recipient whose latest live notice of this kind has that text gets none.
    """
    c = Notification.__table__.c
    own, fam = _texts(render, rendered_at_send)
    rows = []
    for recipient, phone, channel, subject, (zh, en), extra in (
        ("self", Pensioner.phone, Pensioner.preferred_channel, cast(null(), String), own, []),  # SMS the fallback
        (
            "family",
            Pensioner.family_phone,
            literal(Channel.SMS.value, String),
            masked_name_sql(),
            fam,
            [family, or_(Pensioner.phone.is_(None), Pensioner.family_phone != Pensioner.phone)],
        ),
    ):
        if unless_latest_same:
            extra = [*extra, _not_the_latest_text(kind=kind, recipient=recipient, body_zh=zh)]
        rows.append(
            select(
                Pensioner.id,
                phone,
                channel,
                literal(OutboxLane.BULK.value, String),
                literal(kind, String),
                literal(season_year, Integer),
                literal(recipient, String),
                literal(rendered_at_send, c.deadline_date.type),
                subject,
                zh,
                en,
                literal(NotificationStatus.PENDING.value, String),
                literal(0, Integer),
                literal(send_at, c.next_attempt_at.type),
                literal(now, c.created_at.type),
            ).where(where, phone.is_not(None), phone != "", *extra)
        )
    stmt = (
        dialect_insert(session, Notification)
        .from_select(_COLUMNS, union_all(*rows))
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year", "kind", "recipient"])
    )
    return int(session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount or 0)  # type: ignore[attr-defined]


def _not_the_latest_text(*, kind: str, recipient: str, body_zh: ColumnElement[Any]) -> ColumnElement[bool]:
    """The recipient's latest queued or sent notice of `kind` does not already say `body_zh`."""
    latest = (
        select(Notification.body_zh)
        .where(
            Notification.pensioner_id == Pensioner.id,
            Notification.kind == kind,
            Notification.recipient == recipient,
            Notification.status != NotificationStatus.CANCELLED.value,
        )
        .order_by(Notification.id.desc())
        .limit(1)
        .correlate(Pensioner)
        .scalar_subquery()
    )
    return or_(latest.is_(None), latest != body_zh)


def queue_suspension_notices(
    *,
    session: Session,
    settings: Settings,
    pensioner_ids: PensionerIds,
    season_year: int,
    effective_date: date,
    now: datetime,
) -> int:
    """Suspension notices to the given pensioners still suspended (family copies for 80+/bedridden); returns rows."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return _queue(
        session=session,
        where=and_(_ids(pensioner_ids), Pensioner.pension_status == PensionStatus.SUSPENDED.value),
        kind=notice_kind(SUSPENSION_NOTICE, effective_date),
        season_year=season_year,
        render=lambda whose: texts.suspension_notice_text(effective_date, whose=whose),
        family=family_copy_due(today=today, settings=settings),
        now=now,
        send_at=bulk_send_time(now, settings),
        rendered_at_send=effective_date,
    )


def queue_reinstatement_notices(
    *, session: Session, settings: Settings, pensioner_ids: PensionerIds, now: datetime, certified: bool = True
) -> int:
    """Reinstatement notices naming the back-pay months, from the ledger rows recorded at `now`; returns rows.

    Pending suspension notices of those seasons are cancelled first: their point is gone.
    """
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    ledger = and_(
        Reinstatement.pensioner_id.in_(pensioner_ids if isinstance(pensioner_ids, Select) else list(pensioner_ids)),
        Reinstatement.kind == ReinstatementKind.REINSTATEMENT.value,
        Reinstatement.recorded_at == now,
    )
    groups = session.execute(
        select(
            Reinstatement.season_year,
            Reinstatement.suspended_from,
            Reinstatement.effective_date,
            Reinstatement.back_pay_months,
        )
        .where(ledger)
        .distinct()
    ).all()
    queued = 0
    for year, suspended_from, resumes, months in groups:
        these = select(Reinstatement.pensioner_id).where(
            ledger,
            Reinstatement.season_year == year,
            Reinstatement.suspended_from == suspended_from,
            Reinstatement.effective_date == resumes,
            Reinstatement.back_pay_months == months,
        )
        cancel_pending_notices(session=session, pensioner_ids=these, kinds=[SUSPENSION_NOTICE], season_year=year)
        queued += _queue(
            session=session,
            where=and_(Pensioner.id.in_(these), Pensioner.pension_status == PensionStatus.ACTIVE.value),
            kind=notice_kind(REINSTATEMENT_NOTICE, resumes),
            season_year=year,
            render=partial(_reinstatement_text, resumes, suspended_from, months, certified),
            family=family_copy_due(today=today, settings=settings),
            now=now,
            send_at=bulk_send_time(now, settings),
        )
    return queued


def _reinstatement_text(
    resumes: date, suspended_from: date, months: int, certified: bool, whose: str | None
) -> tuple[str, str]:
    return texts.reinstatement_notice_text(
        resumes=resumes, suspended_from=suspended_from, months=months, whose=whose, certified=certified
    )


def queue_appointment_notices(
    *, session: Session, settings: Settings, pensioner_ids: PensionerIds, day: date, worker: str, now: datetime
) -> int:
    """Home-visit appointment texts (date, field worker's name) to the pensioners and 80+/bedridden families.

    A recipient whose latest appointment text already names this date and worker gets none: a repeated assignment
    texts once, a new worker or date texts again.
    """
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return _queue(
        session=session,
        where=_ids(pensioner_ids),
        kind=APPOINTMENT_NOTICE,
        season_year=None,  # one per assignment: NULL keeps the once-per-season key from refusing a new date
        render=lambda whose: texts.appointment_text(day=day, worker=worker, whose=whose),
        family=family_copy_due(today=today, settings=settings),
        now=now,
        send_at=bulk_send_time(now, settings),
        unless_latest_same=True,
    )


def cancel_pending_notices(
    *, session: Session, pensioner_ids: PensionerIds, kinds: Sequence[str], season_year: int | None = None
) -> int:
    """Cancel queued notices whose kind starts with one of `kinds` and whose point is gone; returns rows."""
    stmt = update(Notification).where(
        _ids(pensioner_ids, Notification.pensioner_id),
        Notification.status == NotificationStatus.PENDING.value,
        or_(*(Notification.kind.startswith(k) for k in kinds)),
    )
    if season_year is not None:
        stmt = stmt.where(Notification.season_year == season_year)
    result = session.execute(
        stmt.values(status=NotificationStatus.CANCELLED.value), execution_options={"synchronize_session": False}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
