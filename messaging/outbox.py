"""The notification outbox: queueing messages and handing them to an SMS gateway."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.settings import Settings
from messaging.texts import reminder_text, suspension_notice_text
from models import Notification
from models.enums import NotificationStatus

log = logging.getLogger(__name__)
# Messages whose text is a credential: it leaves the database once delivered (or once the code is dead).
SECRET_KINDS = frozenset({"otp"})
SUSPENSION_NOTICE = "notice_suspension"  # = messaging.notices.SUSPENSION_NOTICE (rendered when sent)
REDACTED_ZH = "【养老金资格认证】登录验证码：******（已发送，文本不再保存）"
REDACTED_EN = "[Pension certification] Login code: ****** (sent; the text is not kept)"


def enqueue(
    *,
    session: Session,
    phone: str,
    kind: str,
    body_zh: str,
    body_en: str,
    pensioner_id: int | None = None,
    season_year: int | None = None,
    now: datetime,
) -> Notification:
    """Queue one message; it leaves when the sender next runs."""
    note = Notification(
        phone=phone,
        kind=kind,
        body_zh=body_zh,
        body_en=body_en,
        pensioner_id=pensioner_id,
        season_year=season_year,
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
            "channel": "sms",
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


class GatewayError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    """Something that delivers one SMS."""

    def send(self, *, phone: str, body: str, message_id: int) -> None:
        """Deliver or raise GatewayError."""


class LogGateway:
    """Development gateway: the outbox row is the record; nothing leaves the machine."""

    delivers = False  # the outbox row is the delivery: a code stays readable there until it expires

    def send(self, *, phone: str, body: str, message_id: int) -> None:
        """Log a masked line."""
        log.info("sms %s to %s***%s", message_id, phone[:3], phone[-2:])


@dataclass
class HttpGateway:
    """POSTs JSON to an SMS provider, with a few quick retries inside one attempt."""

    url: str
    delivers = True
    token: str = ""
    timeout: float = 10.0
    retries: int = 2
    client: httpx.Client | None = None

    def send(self, *, phone: str, body: str, message_id: int) -> None:
        """Post {"phone","text","id"}; 2xx is success."""
        client = self.client or httpx.Client(timeout=self.timeout)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                resp = client.post(self.url, json={"phone": phone, "text": body, "id": message_id}, headers=headers)
                if 200 <= resp.status_code < 300:
                    return
                last = GatewayError(f"HTTP {resp.status_code}")
                if resp.status_code < 500 and resp.status_code != 429:
                    break
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(min(0.2 * 2**attempt, 2.0))
        raise GatewayError(str(last))


def message_text(note: Notification) -> tuple[str, str]:
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


def send_pending(
    *,
    session: Session,
    gateway: SmsGateway,
    now: datetime,
    tz: str,
    quiet_start: int,
    quiet_end: int,
    max_attempts: int,
    limit: int = 1000,
) -> dict[str, int]:
    """Send due messages outside quiet hours; failures back off exponentially and give up after max_attempts."""
    if in_quiet_hours(now, tz=tz, start_hour=quiet_start, end_hour=quiet_end):
        return {"sent": 0, "failed": 0, "deferred_quiet_hours": 1}
    due = session.scalars(
        select(Notification)
        .where(
            Notification.status == NotificationStatus.PENDING.value,
            Notification.next_attempt_at <= now,  # every row is queued with one; this walks the index
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = failed = 0
    for note in due:
        try:
            gateway.send(phone=note.phone, body=message_text(note)[0], message_id=note.id)
        except Exception as exc:  # a gateway may fail in any way; the row records it
            note.attempts += 1
            note.last_error = str(exc)[:500]
            if note.attempts >= max_attempts:
                note.status = NotificationStatus.FAILED.value
                if note.kind in SECRET_KINDS:
                    redact(note)  # never delivered, never retried: the code is of no use to anyone
            else:
                note.next_attempt_at = now + timedelta(minutes=2**note.attempts)
            failed += 1
            continue
        note.attempts += 1
        note.status = NotificationStatus.SENT.value
        note.sent_at = now
        if note.kind in SECRET_KINDS and getattr(gateway, "delivers", True):
            redact(note)
        sent += 1
    session.flush()
    return {"sent": sent, "failed": failed, "deferred_quiet_hours": 0}


def redact(note: Notification) -> None:
    """Replace a secret message's text by a fixed one saying a code was sent."""
    note.body_zh, note.body_en = REDACTED_ZH, REDACTED_EN


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
            Notification.status != NotificationStatus.PENDING.value,
            or_(Notification.season_year.is_(None), Notification.season_year < keep_seasons_from),
        ),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def make_gateway(settings: Settings) -> SmsGateway:
    """The configured gateway: the HTTP provider, or the log (development)."""
    if settings.sms_gateway == "http":
        return HttpGateway(url=settings.sms_http_url, token=settings.sms_http_token)
    return LogGateway()
