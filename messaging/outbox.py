"""The notification outbox: queueing messages in lanes, claiming them with a lease, recording what gateways said.

Claiming commits `status=sending` with a lease (`next_attempt_at` = lease end, `claimed_by`) before any
gateway is called; a sender killed mid-batch leaves its rows to be claimed again when the lease ends, with
the same message ids, which the provider uses to drop a repeated hand-off (at-least-once hand-off,
once-only delivery by the provider's dedupe on our id; docs/operations.md, "Outbox senders").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from messaging.gateways import BatchError, Gateways, OutgoingMessage, SendResult
from messaging.texts import reminder_text, suspension_notice_text
from models import Notification
from models.enums import Channel, NotificationStatus, OutboxLane

log = logging.getLogger(__name__)
# Messages whose text is a credential: it leaves the database once delivered (or once the code is dead).
SECRET_KINDS = frozenset({"otp"})
# Messages a person is waiting for: the fast lane (at once, day and night, ahead of any backlog).
FAST_KINDS = frozenset({"otp"})
LIVE_STATUSES = (NotificationStatus.PENDING.value, NotificationStatus.SENDING.value)
SUSPENSION_NOTICE = "notice_suspension"  # = messaging.notices.SUSPENSION_NOTICE (rendered when sent)
REDACTED_ZH = "【养老金资格认证】登录验证码：******（已发送，文本不再保存）"
REDACTED_EN = "[Pension certification] Login code: ****** (sent; the text is not kept)"
MAX_BACKOFF_SECONDS = 3600


def lane_for(kind: str) -> str:
    """The lane a kind of message waits in."""
    return OutboxLane.FAST.value if kind in FAST_KINDS else OutboxLane.BULK.value


def enqueue(
    *,
    session: Session,
    phone: str,
    kind: str,
    body_zh: str,
    body_en: str,
    pensioner_id: int | None = None,
    season_year: int | None = None,
    lane: str | None = None,
    channel: str = Channel.SMS.value,
    now: datetime,
) -> Notification:
    """Queue one message; it leaves when a sender next claims its lane (a login code: right after the request)."""
    note = Notification(
        phone=phone,
        kind=kind,
        body_zh=body_zh,
        body_en=body_en,
        pensioner_id=pensioner_id,
        season_year=season_year,
        lane=lane or lane_for(kind),
        channel=channel,
        status=NotificationStatus.PENDING.value,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


@dataclass(frozen=True)
class Message:
    """One message to queue with others."""

    phone: str
    kind: str
    body_zh: str
    body_en: str
    pensioner_id: int | None = None


def enqueue_many(*, session: Session, messages: list[Message], now: datetime) -> int:
    """Queue many messages in one statement; returns how many."""
    if not messages:
        return 0
    rows = [
        {
            "phone": m.phone,
            "channel": Channel.SMS.value,
            "lane": lane_for(m.kind),
            "kind": m.kind,
            "body_zh": m.body_zh,
            "body_en": m.body_en,
            "pensioner_id": m.pensioner_id,
            "status": NotificationStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    session.execute(insert(Notification), rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """An outbox row a sender holds the lease on."""

    id: int
    phone: str
    kind: str
    channel: str
    lane: str
    pensioner_id: int | None
    recipient: str | None
    season_year: int | None
    deadline_date: date | None
    body_zh: str | None
    body_en: str | None
    attempts: int
    subject_name: str | None  # family copies: whose reminder or notice it is (masked)


_CLAIM_COLUMNS = [getattr(Notification, f) for f in Claimed.__dataclass_fields__]


def claim(
    *,
    session: Session,
    lane: str,
    now: datetime,
    limit: int,
    lease_seconds: int,
    worker: str,
    ids: Sequence[int] | None = None,
) -> list[Claimed]:
    """Take up to `limit` due rows of a lane (expired leases first), oldest first; SKIP LOCKED on PostgreSQL.

    SQLite has one writer: the conditional UPDATE … RETURNING is the claim. `ids` claims those rows only.
    """
    found: list[Claimed] = []
    for status in (NotificationStatus.SENDING.value, NotificationStatus.PENDING.value):
        if len(found) >= limit:
            break
        due = select(Notification.id).where(
            Notification.status == status, Notification.lane == lane, Notification.next_attempt_at <= now
        )
        if ids is not None:
            due = due.where(Notification.id.in_(list(ids)))
        # Not ordered by id too: PostgreSQL would sort every due row (they share one next_attempt_at).
        due = due.order_by(Notification.next_attempt_at).limit(limit - len(found)).with_for_update(skip_locked=True)
        stmt = (
            update(Notification)
            .where(Notification.id.in_(due.scalar_subquery()))
            .values(
                status=NotificationStatus.SENDING.value,
                claimed_by=worker,
                attempts=Notification.attempts + 1,
                next_attempt_at=now + timedelta(seconds=lease_seconds),
            )
            .returning(*_CLAIM_COLUMNS)
        )
        rows = session.execute(stmt, execution_options={"synchronize_session": False}).all()
        found.extend(Claimed(*row) for row in rows)
    return sorted(found, key=lambda c: c.id)


def expire_claimed(*, session: Session, claimed: list[Claimed], stale: dict[int, str]) -> list[Claimed]:
    """Expire claimed messages unsent with the status saying why ({id: status}); returns the rest."""
    for status in set(stale.values()):
        ids = [i for i, st in stale.items() if st == status]
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(status=status, claimed_by=None, next_attempt_at=None),
            execution_options={"synchronize_session": False},
        )
    return [c for c in claimed if c.id not in stale]


def past_deadline(claimed: list[Claimed], today: date) -> dict[int, str]:
    """Claimed reminders whose deadline has passed: they expire, never sent."""
    return {
        c.id: NotificationStatus.EXPIRED_DEADLINE.value
        for c in claimed
        if c.deadline_date is not None and c.deadline_date < today
    }


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed message: the gateway's result, the channel it went by, a wait asked for."""

    result: SendResult
    channel: str
    retry_after: float | None = None
    note: str | None = None  # e.g. "push: push_unavailable; sent by sms"


def _to_gateway(c: Claimed, channel: str) -> OutgoingMessage:
    return OutgoingMessage(
        id=c.id, phone=c.phone, body=message_text(c)[0], kind=c.kind, channel=channel, pensioner_id=c.pensioner_id
    )


def _send_on(gateways: Gateways, channel: str, claimed: Sequence[Claimed]) -> dict[int, Outcome]:
    """Hand messages to one channel's gateway in batches; a failed batch fails each of its messages."""
    gateway = gateways[channel]
    out: dict[int, Outcome] = {}
    size = max(1, gateway.batch_size)
    for i in range(0, len(claimed), size):
        chunk = [_to_gateway(c, channel) for c in claimed[i : i + size]]
        try:
            results = gateway.send_batch(chunk)
        except BatchError as exc:
            for m in chunk:
                out[m.id] = Outcome(SendResult(id=m.id, accepted=False, error=str(exc)[:200]), channel, exc.retry_after)
            continue
        except Exception as exc:  # a gateway may fail in any way; the rows record it
            for m in chunk:
                out[m.id] = Outcome(SendResult(id=m.id, accepted=False, error=repr(exc)[:200]), channel)
            continue
        by_id = {r.id: r for r in results}
        for m in chunk:
            res = by_id.get(m.id) or SendResult(id=m.id, accepted=False, error="no result from the gateway")
            out[m.id] = Outcome(res, channel)
    return out


def deliver(*, gateways: Gateways, claimed: Sequence[Claimed]) -> dict[int, Outcome]:
    """Send each message by its channel; a channel that is absent or fails falls back to SMS at once."""
    sms = Channel.SMS.value
    by_channel: dict[str, list[Claimed]] = {}
    notes: dict[int, str] = {}
    for c in claimed:
        channel = c.channel if c.channel in gateways else sms
        if channel != c.channel:
            notes[c.id] = f"{c.channel}: not available; sent by sms"
        by_channel.setdefault(channel, []).append(c)
    out: dict[int, Outcome] = {}
    retry: list[Claimed] = []
    for channel, rows in by_channel.items():
        got = _send_on(gateways, channel, rows)
        for c in rows:
            if channel != sms and not got[c.id].result.accepted:
                notes[c.id] = f"{channel}: {got[c.id].result.error}; sent by sms"
                retry.append(c)
            else:
                out[c.id] = got[c.id]
    if retry:
        out.update(_send_on(gateways, sms, retry))
    return {i: Outcome(o.result, o.channel, o.retry_after, notes.get(i)) for i, o in out.items()}


@dataclass
class Counts:
    """What a round of sending did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    expired: int = 0
    claimed: int = 0
    deferred_quiet_hours: int = 0
    provider_ids: dict[int, str] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        """Add another round's counts."""
        for name in ("sent", "failed", "gave_up", "expired", "claimed", "deferred_quiet_hours"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        """The counters a sweep reports."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "gave_up": self.gave_up,
            "expired": self.expired,
            "deferred_quiet_hours": self.deferred_quiet_hours,
        }


def backoff_seconds(attempts: int, *, base: int, retry_after: float | None) -> float:
    """Seconds before the next try: base · 2^(attempts-1), at most an hour, never sooner than Retry-After."""
    wait = min(base * 2 ** max(0, attempts - 1), MAX_BACKOFF_SECONDS)
    return max(float(wait), retry_after or 0.0)


def _sort(
    claimed: Sequence[Claimed], outcomes: dict[int, Outcome], *, now: datetime, max_attempts: int, base: int
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """Split results into parameters for sent, retry and give-up updates."""
    sent: list[dict[str, object]] = []
    retry: list[dict[str, object]] = []
    gave_up: list[dict[str, object]] = []
    for c in claimed:
        o = outcomes.get(c.id) or Outcome(SendResult(id=c.id, accepted=False, error="not handed over"), c.channel)
        if o.result.accepted:
            sent.append({"b_id": c.id, "b_pid": o.result.provider_message_id, "b_ch": o.channel, "b_err": o.note})
        elif o.result.permanent or c.attempts >= max_attempts:
            gave_up.append({"b_id": c.id, "b_err": _error(o)})
        else:
            wait = backoff_seconds(c.attempts, base=base, retry_after=o.retry_after)
            retry.append({"b_id": c.id, "b_err": _error(o), "b_next": now + timedelta(seconds=wait)})
    return sent, retry, gave_up


def record(
    *,
    session: Session,
    claimed: Sequence[Claimed],
    outcomes: dict[int, Outcome],
    worker: str,
    now: datetime,
    max_attempts: int,
    retry_base_seconds: int,
    redact_secrets: bool,
) -> Counts:
    """Write what the gateways said onto the rows this worker still holds; failures back off or give up."""
    sent, retry, gave_up = _sort(claimed, outcomes, now=now, max_attempts=max_attempts, base=retry_base_seconds)
    table: Table = Notification.__table__  # type: ignore[assignment]
    held = update(table).where(
        table.c.id == bindparam("b_id"),
        table.c.claimed_by == worker,
        table.c.status == NotificationStatus.SENDING.value,
    )
    done: dict[str, object] = {"claimed_by": None, "next_attempt_at": None, "last_error": bindparam("b_err")}
    conn = session.connection()
    if sent:
        values: dict[str, object] = {"provider_message_id": bindparam("b_pid"), "channel": bindparam("b_ch")}
        conn.execute(held.values(status=NotificationStatus.SENT.value, sent_at=now, **values, **done), sent)
    if gave_up:
        conn.execute(held.values(status=NotificationStatus.FAILED.value, **done), gave_up)
    if retry:
        conn.execute(
            held.values(status=NotificationStatus.PENDING.value, **done | {"next_attempt_at": bindparam("b_next")}),
            retry,
        )
    secret = {c.id for c in claimed if c.kind in SECRET_KINDS}
    finished = [p["b_id"] for p in gave_up] + ([p["b_id"] for p in sent] if redact_secrets else [])
    redact_ids(session=session, ids=[i for i in finished if i in secret])
    pids = {int(str(p["b_id"])): str(p["b_pid"]) for p in sent if p["b_pid"]}
    return Counts(sent=len(sent), failed=len(retry) + len(gave_up), gave_up=len(gave_up), provider_ids=pids)


def _error(o: Outcome) -> str:
    return f"{o.note}; {o.result.error}" if o.note else (o.result.error or "not accepted")


def redact_ids(*, session: Session, ids: Iterable[int]) -> None:
    """Replace secret messages' text by a fixed one saying a code was sent."""
    ids = list(ids)
    if ids:
        session.execute(
            update(Notification).where(Notification.id.in_(ids)).values(body_zh=REDACTED_ZH, body_en=REDACTED_EN),
            execution_options={"synchronize_session": False},
        )


def message_text(note: Notification | Claimed) -> tuple[str, str]:
    """The message's Chinese and English text; reminders are rendered from kind, recipient and deadline."""
    if note.body_zh is not None and note.body_en is not None:
        return note.body_zh, note.body_en
    if note.deadline_date is None:
        return note.body_zh or "", note.body_en or ""
    if note.kind.startswith(SUSPENSION_NOTICE):  # messaging.notices: deadline_date = the month it takes effect
        return suspension_notice_text(
            note.deadline_date, whose=note.subject_name if note.recipient == "family" else None
        )
    return reminder_text(note.deadline_date, family=note.recipient == "family", whose=note.subject_name)


def in_quiet_hours(now: datetime, *, tz: str, start_hour: int, end_hour: int) -> bool:
    """Whether local time is in the no-SMS night (e.g. 21:00–08:00)."""
    hour = now.astimezone(ZoneInfo(tz)).hour
    return hour >= start_hour or hour < end_hour


def redact_expired_codes(*, session: Session, before: datetime) -> int:
    """Redact every secret message queued before `before` (its code has expired), in SQL; returns rows."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.kind.in_(SECRET_KINDS),
            Notification.created_at < before,
            or_(Notification.body_zh.is_(None), Notification.body_zh != REDACTED_ZH),
        )
        .values(body_zh=REDACTED_ZH, body_en=REDACTED_EN),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_old(*, session: Session, before: datetime, keep_seasons_from: int) -> int:
    """Delete messages queued before `before` that are done (sent, failed, cancelled), in SQL; returns rows.

    Reminders of seasons from `keep_seasons_from` on stay: the supervisors count them, and their unique
    key is what keeps the reminder sweep from queueing one twice.
    """
    result = session.execute(
        delete(Notification).where(
            Notification.created_at < before,
            Notification.status.not_in(LIVE_STATUSES),
            or_(Notification.season_year.is_(None), Notification.season_year < keep_seasons_from),
        ),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
