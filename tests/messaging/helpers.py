"""A fake SMS provider and outbox helpers for the messaging tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import outbox
from models import Notification


@dataclass
class FakeProvider:
    """Accepts every message and remembers it (phone, text, our id), like a provider's send API."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)
    delivers = True

    def send(self, *, phone: str, body: str, message_id: int) -> None:
        """Record the message."""
        self.sent.append((phone, body, message_id))


def run_sender(
    factory: sessionmaker[Session], settings: Settings, provider: FakeProvider, now: datetime
) -> dict[str, int]:
    """One run of the outbox sender as of `now`, committed."""
    with factory() as s:
        counts = outbox.send_pending(
            session=s,
            gateway=provider,
            now=now,
            tz=settings.timezone,
            quiet_start=settings.sms_quiet_start_hour,
            quiet_end=settings.sms_quiet_end_hour,
            max_attempts=settings.sms_max_attempts,
        )
        s.commit()
    return counts


def outbox_rows(session: Session, pensioner_id: int) -> list[dict[str, Any]]:
    """Every outbox row of a pensioner as a dict, oldest first (read fresh, transaction ended)."""
    table = Notification.__table__
    rows = session.execute(select(table).where(table.c.pensioner_id == pensioner_id).order_by(table.c.id)).all()
    session.commit()
    return [dict(r._mapping) for r in rows]
