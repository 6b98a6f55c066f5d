"""Delivery receipts: the provider's reports mark each message delivered or failed; failed ones reach the family."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from messaging import errors, notices, texts
from messaging.outbox import message_text
from models import Notification, Pensioner
from models.engine import dialect_insert
from models.enums import DeliveryStatus, NotificationStatus

SIGNATURE_HEADER = "X-Signature"  # "sha256=<hex HMAC-SHA256 of the raw body with the shared secret>"
_MAX_OWN_ID = 2**31 - 1
FORWARDED_KINDS = ("reminder", notices.NOTICE_KIND_PREFIX)  # what a failure forwards to the family phone


@dataclass(frozen=True)
class DeliveryReport:
    """One report of the provider."""

    message_id: str
    status: str  # DeliveryStatus
    at: datetime
    error_code: str | None = None


@dataclass
class ReportResult:
    """What became of one report."""

    message_id: str
    result: str  # updated | unchanged | rejected
    reason: str | None = None
    family_copy_queued: bool = False


def verify_caller(*, secret: str, authorization: str | None, signature: str | None, body: bytes) -> None:
    """Accept a bearer token equal to the secret, or an HMAC-SHA256 signature of the body; raise 401/403 otherwise."""
    if not authorization and not signature:
        raise errors.ReceiptNotAuthenticated()
    if not secret:
        raise errors.ReceiptCredentialsInvalid()
    if signature:
        given = signature.strip().removeprefix("sha256=").lower()
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(given.encode(), expected.encode()):
            return
        raise errors.ReceiptCredentialsInvalid()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token and hmac.compare_digest(token.strip().encode(), secret.encode()):
        return
    raise errors.ReceiptCredentialsInvalid()


def _lookup(session: Session, message_ids: Sequence[str]) -> dict[str, Notification]:
    """The messages named by our id or by the provider's, locked against a concurrent report."""
    own = {int(m) for m in message_ids if m.isdigit() and 0 < int(m) <= _MAX_OWN_ID}
    by_own = (
        {n.id: n for n in session.scalars(select(Notification).where(Notification.id.in_(own)).with_for_update())}
        if own
        else {}
    )
    by_provider = {
        n.provider_message_id: n
        for n in session.scalars(
            select(Notification).where(Notification.provider_message_id.in_(set(message_ids))).with_for_update()
        )
    }
    found: dict[str, Notification] = {}
    for m in message_ids:
        note = by_own.get(int(m)) if m.isdigit() and int(m) <= _MAX_OWN_ID else None
        note = note or by_provider.get(m)
        if note is not None:
            found[m] = note
    return found


def apply_reports(
    *, session: Session, settings: Settings, reports: Sequence[DeliveryReport], now: datetime
) -> list[ReportResult]:
    """Record each report (idempotent: a repeated report changes nothing); 422 when none names a known message."""
    found = _lookup(session, [r.message_id for r in reports])
    if not found:
        raise errors.UnknownMessages(detail={"rejected": [r.message_id for r in reports]})
    results = []
    for report in reports:
        note = found.get(report.message_id)
        if note is None:
            results.append(ReportResult(report.message_id, "rejected", reason="unknown_message"))
            continue
        changed, family = record_delivery(
            session=session,
            settings=settings,
            note=note,
            status=report.status,
            at=report.at,
            error_code=report.error_code,
            now=now,
        )
        results.append(ReportResult(report.message_id, "updated" if changed else "unchanged", None, family))
    session.flush()
    return results


def record_delivery(
    *,
    session: Session,
    settings: Settings,
    note: Notification,
    status: str,
    at: datetime,
    error_code: str | None,
    now: datetime,
) -> tuple[bool, bool]:
    """The one place a message's delivery status changes; returns (changed, family copy queued).

    Delivered is final; a failure reported again changes nothing. A failed reminder or notice to the
    pensioner's own phone is queued once to the family phone.
    """
    if note.delivery_status == DeliveryStatus.DELIVERED.value or note.delivery_status == status:
        return False, False
    note.delivery_status = status
    if status == DeliveryStatus.DELIVERED.value:
        note.delivered_at, note.delivery_error = at, None
        return True, False
    note.delivered_at, note.delivery_error = None, (error_code or "unknown")[:64]
    return True, queue_family_copy(session=session, settings=settings, note=note, now=now)


def queue_family_copy(*, session: Session, settings: Settings, note: Notification, now: datetime) -> bool:
    """Queue the family copy of a reminder or notice the pensioner's phone did not get (once: the outbox key)."""
    if note.recipient not in (None, "self") or note.pensioner_id is None or not note.kind.startswith(FORWARDED_KINDS):
        return False
    pensioner = session.get(Pensioner, note.pensioner_id)
    if pensioner is None or not pensioner.family_phone or pensioner.family_phone == note.phone:
        return False
    whose = texts.mask_name(pensioner.name)
    zh: str | None
    en: str | None
    if note.kind.startswith("reminder") and note.body_zh is None and note.deadline_date is not None:
        zh = en = None  # rendered when sent, as the family reminder naming whose it is
    else:
        zh, en = texts.forwarded_text(*message_text(note), whose=whose)
    stmt = (
        dialect_insert(session, Notification)
        .values(
            pensioner_id=note.pensioner_id,
            phone=pensioner.family_phone,
            channel="sms",
            kind=note.kind,
            season_year=note.season_year,
            recipient="family",
            deadline_date=note.deadline_date,
            subject_name=whose,
            body_zh=zh,
            body_en=en,
            status=NotificationStatus.PENDING.value,
            attempts=0,
            next_attempt_at=notices.bulk_send_time(now, settings),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year", "kind", "recipient"])
    )
    return bool(session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount)  # type: ignore[attr-defined]
