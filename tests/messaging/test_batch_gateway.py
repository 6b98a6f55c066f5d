"""A provider that throttles, times out, answers 500 or takes half a batch: per message, nothing lost or twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import sender
from models import Notification
from tests.messaging.helpers import Provider, accept_all, queue_reminders, statuses
from tests.scheduler.helpers import at

NOW = at(2026, 5, 6, 10)


def _cfg(settings: Settings) -> sender.SenderConfig:
    return sender.SenderConfig.from_settings(settings)


def _round(factory: sessionmaker[Session], provider: Provider, settings: Settings, now: datetime) -> Any:
    return sender.send_round(
        session_factory=factory,
        gateways={"sms": provider.gateway(batch_size=10)},
        now=now,
        cfg=_cfg(settings),
        worker="w",
    )


def _rows(session: Session) -> list[Notification]:
    session.expire_all()
    rows = list(session.scalars(select(Notification).order_by(Notification.id)))
    session.commit()
    return rows


def test_429_with_retry_after_is_honoured(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    queue_reminders(session, 4, now=NOW)
    provider = Provider(
        lambda n, msgs: httpx.Response(429, headers={"Retry-After": "120"}) if n == 1 else accept_all(msgs)
    )
    got = _round(session_factory, provider, settings, NOW)
    rows = _rows(session)
    assert got.sent == 0 and all(r.status == "pending" and r.last_error == "HTTP 429" for r in rows)
    assert all(r.next_attempt_at is not None and r.next_attempt_at >= NOW + timedelta(seconds=120) for r in rows)
    assert _round(session_factory, provider, settings, NOW + timedelta(seconds=60)).claimed == 0  # still waiting
    assert _round(session_factory, provider, settings, NOW + timedelta(seconds=121)).sent == 4


def test_half_a_batch_accepted_is_handled_per_message(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    queue_reminders(session, 6, now=NOW)

    def half(n: int, msgs: list[dict[str, Any]]) -> httpx.Response:
        if n > 1:
            return accept_all(msgs)
        results = [
            {"id": m["id"], "status": "accepted", "provider_id": f"p-{m['id']}"}
            if i % 2 == 0
            else {"id": m["id"], "status": "rejected", "error": "busy"}
            for i, m in enumerate(msgs[:-1])  # the last one is not even mentioned
        ]
        return httpx.Response(200, json={"results": results})

    provider = Provider(half)
    got = _round(session_factory, provider, settings, NOW)
    assert got.sent == 3 and got.failed == 3
    assert statuses(session) == {"sent": 3, "pending": 3}
    later = NOW + timedelta(seconds=settings.outbox_retry_base_seconds)
    assert _round(session_factory, provider, settings, later).sent == 3
    rows = _rows(session)
    assert all(r.status == "sent" and r.provider_message_id == f"p-{r.id}" for r in rows)
    assert sorted(provider.ids) == sorted(str(r.id) for r in rows for _ in range(2 if r.attempts == 2 else 1))
    assert {r.attempts for r in rows} == {1, 2}  # each accepted once; only the unaccepted were posted again


def test_timeouts_and_500_back_off_then_give_up_visibly(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    queue_reminders(session, 2, now=NOW)

    def flaky(n: int, msgs: list[dict[str, Any]]) -> httpx.Response:
        if n % 2:
            raise httpx.ReadTimeout("timed out")
        return httpx.Response(500)

    provider = Provider(flaky)
    now, waits = NOW, []
    for _ in range(settings.sms_max_attempts):
        assert _round(session_factory, provider, settings, now).claimed == 2
        nxt = _rows(session)[0].next_attempt_at
        if nxt is None:
            break
        waits.append((nxt - now).total_seconds())
        now = nxt
    rows = _rows(session)
    assert waits == [10.0, 20.0, 40.0, 80.0]  # base · 2^(attempts-1)
    assert all(r.status == "failed" and r.attempts == settings.sms_max_attempts for r in rows)
    assert all(r.last_error in ("HTTP 500", "ReadTimeout: timed out") for r in rows)
    assert len(provider.posted) == settings.sms_max_attempts  # one batch POST per attempt, never one per message
