"""Helpers for season and sweep tests: local (Beijing) instants and running sweeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from models import Notification
from scheduler import sweeps

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant given in Beijing local time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def run(factory: sessionmaker[Session], settings: Settings, now: datetime, *names: str) -> dict[str, Any]:
    """Run sweeps (all, or the named ones) as of `now`."""
    return sweeps.run_sweeps(session_factory=factory, settings=settings, now=now, names=list(names) or None)


def reminder_kinds(session: Session, pensioner_id: int) -> list[tuple[str, str]]:
    """(kind, phone) of every reminder queued for a pensioner, oldest first."""
    session.expire_all()
    rows = session.execute(
        select(Notification.kind, Notification.phone)
        .where(Notification.pensioner_id == pensioner_id, Notification.kind.startswith("reminder"))
        .order_by(Notification.id)
    ).all()
    session.commit()
    return [(r[0], r[1]) for r in rows]


def count_notifications(session: Session, **filters: Any) -> int:
    """How many outbox rows match."""
    stmt = select(func.count()).select_from(Notification)
    for key, value in filters.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    n = session.scalar(stmt) or 0
    session.commit()
    return n
