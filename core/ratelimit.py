"""Rate limits stored in the database, so every worker sees the same counts.

Two kinds of allowance per bucket: a sliding window (`allowed` attempts per PENSION_CERT_LOGIN_RATE_WINDOW_SECONDS;
client addresses, which many people may share) and a growing back-off (`allowed` attempts in a day, then each
further one waits PENSION_CERT_LOGIN_BACKOFF_SECONDS after the previous, doubling up to
PENSION_CERT_LOGIN_BACKOFF_MAX_SECONDS; national IDs, devices, a staff account from one address). Only what
the caller counts is counted (sent codes, wrong codes, wrong passwords); refused attempts are not.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import RateLimited
from core.settings import Settings
from models import RateLimitHit

DAY = timedelta(days=1)  # the back-off counts the attempts of the last day


@dataclass(frozen=True)
class Limit:
    """A bucket and its allowance (per day with a growing back-off, or per sliding window)."""

    bucket: str
    allowed: int
    windowed: bool = False


@dataclass(frozen=True)
class Policy:
    """The window and the back-off steps."""

    window: timedelta
    backoff: timedelta
    backoff_max: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The login policy of the settings."""
        return cls(
            window=timedelta(seconds=settings.login_rate_window_seconds),
            backoff=timedelta(seconds=settings.login_backoff_seconds),
            backoff_max=timedelta(seconds=max(settings.login_backoff_seconds, settings.login_backoff_max_seconds)),
        )


def key(secret: str, *parts: str) -> str:
    """A short keyed digest naming a bucket without storing the national ID, device id or username itself."""
    return hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def address_key(address: str) -> str:
    """The client address as a bucket name: IPv4 as is, IPv6 by its /64 (one subscriber's whole prefix)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _seconds(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds()))


def wait_seconds(*, session: Session, limit: Limit, policy: Policy, now: datetime) -> int:
    """Seconds until the bucket admits one more attempt (0: now)."""
    allowed = max(1, limit.allowed)
    where = [RateLimitHit.bucket == limit.bucket]
    if limit.windowed:
        # When the allowed-th newest hit leaves the window, there is room again.
        kth = session.scalar(
            select(RateLimitHit.at)
            .where(*where, RateLimitHit.at > now - policy.window)
            .order_by(RateLimitHit.at.desc())
            .offset(allowed - 1)
            .limit(1)
        )
        return 0 if kth is None else _seconds(kth + policy.window - now)
    count, last = session.execute(
        select(func.count(), func.max(RateLimitHit.at)).where(*where, RateLimitHit.at > now - DAY)
    ).one()
    if count < allowed or last is None:
        return 0
    gap = min(policy.backoff_max, policy.backoff * 2 ** min(count - allowed, 30))
    return _seconds(last + gap - now)


def check(*, session: Session, limits: Iterable[Limit], policy: Policy, now: datetime) -> None:
    """Refuse (429 with the longest wait) when any bucket is past its allowance; counts nothing."""
    worst = max((wait_seconds(session=session, limit=limit, policy=policy, now=now) for limit in limits), default=0)
    if worst > 0:
        raise RateLimited(worst)


def hit(*, session: Session, buckets: Iterable[str], now: datetime) -> None:
    """Count one attempt in each bucket (the hits persist even when the request then fails)."""
    for bucket in buckets:
        session.add(RateLimitHit(bucket=bucket, at=now))
    session.flush()


def clear(*, session: Session, buckets: Iterable[str]) -> int:
    """Forget buckets' hits (after a successful login, or a staff reset); returns how many went."""
    names = list(buckets)
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.bucket.in_(names)))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_old(*, session: Session, before: datetime) -> int:
    """Delete hits older than any window."""
    result = session.execute(delete(RateLimitHit).where(RateLimitHit.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
