"""Helpers for outbox tests: recording batch providers (behind httpx's mock transport, or in-process), queued reminders."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import sender
from messaging.gateways import HttpBatchGateway, OutgoingMessage, SendResult
from models import Notification


class Provider:
    """Records every posted message id in order and answers per a handler (default: accept all)."""

    def __init__(self, answer: Callable[[int, list[dict[str, Any]]], httpx.Response] | None = None) -> None:
        self.posted: list[list[str]] = []
        self.texts: dict[str, str] = {}
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["messages"]
        self.posted.append([m["id"] for m in messages])
        self.texts.update({m["id"]: m["text"] for m in messages})
        if self.answer is not None:
            return self.answer(len(self.posted), messages)
        return accept_all(messages)

    @property
    def ids(self) -> list[str]:
        """Every id posted, in order."""
        return [i for batch in self.posted for i in batch]

    def gateway(self, batch_size: int = 500) -> HttpBatchGateway:
        """A batch gateway posting to this provider."""
        return HttpBatchGateway(
            url="https://sms.example/batch",
            batch_size=batch_size,
            client=httpx.Client(transport=httpx.MockTransport(self)),
        )


def accept_all(messages: list[dict[str, Any]]) -> httpx.Response:
    """The provider accepts every message of the batch."""
    return httpx.Response(
        200, json={"results": [{"id": m["id"], "status": "accepted", "provider_id": f"p-{m['id']}"} for m in messages]}
    )


def queue_reminders(
    session: Session,
    n: int,
    *,
    now: datetime,
    kind: str = "reminder_open",
    deadline: date = date(2026, 6, 30),
    first_pensioner: int = 100_000,
) -> None:
    """Queue n pending self reminders (pensioner ids need not exist: the outbox has no foreign key)."""
    rows = [
        {
            "pensioner_id": first_pensioner + i,
            "phone": f"138{i:08d}",
            "channel": "sms",
            "lane": "bulk",
            "kind": kind,
            "season_year": deadline.year,
            "recipient": "self",
            "deadline_date": deadline,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for i in range(n)
    ]
    session.execute(insert(Notification), rows)
    session.commit()


def statuses(session: Session, **where: Any) -> dict[str, int]:
    """Outbox rows by status (optionally filtered)."""
    session.expire_all()
    stmt = select(Notification.status)
    for key, value in where.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    out: dict[str, int] = {}
    for status in session.scalars(stmt):
        out[status] = out.get(status, 0) + 1
    session.commit()
    return out


@dataclass
class FakeProvider:
    """An in-process SMS gateway that accepts every message and remembers it (phone, text, our id)."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)
    channel: str = "sms"
    delivers: bool = True
    batch_size: int = 500

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Record and accept each message."""
        self.sent.extend((m.phone, m.body, m.id) for m in messages)
        return [SendResult(id=m.id, accepted=True, provider_message_id=f"fake-{m.id}") for m in messages]


def run_sender(
    factory: sessionmaker[Session], settings: Settings, provider: FakeProvider, now: datetime
) -> dict[str, int]:
    """One round of the outbox sender as of `now`, committed."""
    with factory() as s:
        counts = sender.send_pending(
            session=s, gateways={"sms": provider}, now=now, cfg=sender.SenderConfig.from_settings(settings)
        )
        s.commit()
    return counts


def outbox_rows(session: Session, pensioner_id: int) -> list[dict[str, Any]]:
    """Every outbox row of a pensioner as a dict, oldest first (read fresh, transaction ended)."""
    table = Notification.__table__
    rows = session.execute(select(table).where(table.c.pensioner_id == pensioner_id).order_by(table.c.id)).all()
    session.commit()
    return [dict(r._mapping) for r in rows]
