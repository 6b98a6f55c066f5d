"""Sliding-window rate limits stored in the database, so every worker sees the same counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import RateLimited
from models import RateLimitHit


def check_and_hit(*, session: Session, buckets: list[tuple[str, int]], window: timedelta, now: datetime) -> None:
    """Count one attempt in each bucket; refuse past a limit (hits persist even when the request then fails)."""
    since = now - window
    for bucket, limit in buckets:
        count = (
            session.scalar(
                select(func.count())
                .select_from(RateLimitHit)
                .where(RateLimitHit.bucket == bucket, RateLimitHit.at > since)
            )
            or 0
        )
        if count >= limit:
            raise RateLimited(detail={"retry_after_seconds": int(window.total_seconds())})
    for bucket, _ in buckets:
        session.add(RateLimitHit(bucket=bucket, at=now))
    session.flush()


def clear(*, session: Session, bucket: str) -> None:
    """Forget a bucket's hits (after a successful login)."""
    session.execute(delete(RateLimitHit).where(RateLimitHit.bucket == bucket))


def purge_old(*, session: Session, before: datetime) -> int:
    """Delete hits older than any window."""
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
