"""Retention: encrypted evidence past purge_after, old rate-limit hits, idempotency records and one-time codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from core import audit, ratelimit
from core.jobs import SweepContext
from core.settings import Settings
from models import Evidence, HomeVisit, IdempotencyRecord, OtpCode


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge(*, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete what is past its retention, in SQL; one audit event with the counts when anything went."""
    due = or_(
        Evidence.purge_after <= now,
        and_(
            Evidence.purge_after.is_(None),
            Evidence.created_at <= now - timedelta(days=settings.evidence_retention_days),
        ),
    )
    due_ids = select(Evidence.id).where(due).scalar_subquery()
    # The visit keeps the scan's SHA-256; only the pointer to the deleted bytes goes.
    session.execute(
        update(HomeVisit).where(HomeVisit.form_scan_evidence_id.in_(due_ids)).values(form_scan_evidence_id=None)
    )
    evidence = _rowcount(session.execute(delete(Evidence).where(due)))
    cutoff = now - timedelta(days=settings.ratelimit_retention_days)
    hits = ratelimit.purge_old(session=session, before=cutoff)
    idempotency = _rowcount(session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)))
    otps = _rowcount(session.execute(delete(OtpCode).where(OtpCode.expires_at < cutoff)))
    counts = {
        "evidence_purged": evidence,
        "rate_limit_hits_purged": hits,
        "idempotency_records_purged": idempotency,
        "otp_codes_purged": otps,
    }
    if any(counts.values()):
        audit.record(
            session=session,
            actor_type="system",
            actor_id=None,
            action="retention.purged",
            target_type="system",
            target_id=None,
            detail=counts,
        )
    session.flush()
    return counts


def sweep(ctx: SweepContext) -> dict[str, int]:
    """Evidence past purge_after; rate-limit hits, idempotency records and codes past their retention."""
    return purge(session=ctx.session, settings=ctx.settings, now=ctx.now)
