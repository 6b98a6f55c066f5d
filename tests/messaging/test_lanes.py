"""Login codes go at once, ahead of any bulk backlog, day and night; quiet hours hold only bulk (issue 16 item 1)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import outbox, sender
from messaging.deps import get_gateways
from models import Notification
from tests import factories
from tests.conftest import Clock
from tests.messaging.helpers import Provider, queue_reminders, statuses
from tests.scheduler.helpers import at, run


def _code_row(session: Session) -> Notification:
    session.expire_all()
    note = session.scalars(select(Notification).where(Notification.kind == "otp")).one()
    session.commit()
    return note


def _ask_code(client: TestClient, session: Session) -> None:
    factories.seed_regions(session)
    p = factories.pensioner(session, phone="13712345678")
    session.commit()
    assert client.post("/api/v1/auth/otp", json={"national_id": p.national_id}).status_code == 202


def test_a_login_code_goes_out_first_with_1200_reminders_waiting(
    app: FastAPI, client: TestClient, session: Session, clock: Clock
) -> None:
    queue_reminders(session, 1200, now=clock.now - timedelta(hours=1))  # older than the code
    provider = Provider()
    app.dependency_overrides[get_gateways] = lambda: {"sms": provider.gateway()}
    _ask_code(client, session)
    code = _code_row(session)
    assert provider.posted == [[str(code.id)]] and code.status == "sent" and code.provider_message_id == f"p-{code.id}"
    assert statuses(session, lane="bulk") == {"pending": 1200}


def test_the_sender_takes_the_fast_lane_before_the_backlog(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = at(2026, 5, 6, 10)
    queue_reminders(session, 1200, now=now - timedelta(hours=1))
    with session_factory.begin() as s:
        otp = outbox.enqueue(session=s, phone="13712345678", kind="otp", body_zh="码123456", body_en="code", now=now)
    provider = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    got = sender.send_round(
        session_factory=session_factory, gateways={"sms": provider.gateway()}, now=now, cfg=cfg, worker="w1"
    )
    assert provider.posted[0] == [str(otp.id)]  # the code's own batch, before any reminder
    assert got.sent == 1 + cfg.batch_limit and len(provider.posted[1]) == cfg.batch_limit


def test_at_22h_beijing_a_code_goes_out_and_reminders_wait(
    app: FastAPI,
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
) -> None:
    clock.now = at(2026, 5, 6, 22)
    queue_reminders(session, 5, now=clock.now - timedelta(hours=2))
    settings.outbox_send_on_request = False  # the sender alone, at night
    _ask_code(client, session)
    provider = Provider()
    app.dependency_overrides[get_gateways] = lambda: {"sms": provider.gateway()}
    cfg = sender.SenderConfig.from_settings(settings)
    counts = sender.send_pending(session=session, gateways={"sms": provider.gateway()}, now=clock.now, cfg=cfg)
    session.commit()
    assert counts["sent"] == 1 and counts["deferred_quiet_hours"] == 1
    assert provider.ids == [str(_code_row(session).id)]
    assert statuses(session, lane="bulk") == {"pending": 5}
    assert run(session_factory, settings, at(2026, 5, 7, 8, 1), "outbox")["outbox_sent"] == 5  # log gateway, morning


def test_a_code_asked_while_the_gateway_is_down_is_retried_by_the_sender(
    app: FastAPI,
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    from messaging.gateways import HttpBatchGateway

    broken = HttpBatchGateway(url="https://sms.example/batch", client=httpx.Client(transport=httpx.MockTransport(down)))
    app.dependency_overrides[get_gateways] = lambda: {"sms": broken}
    _ask_code(client, session)
    code = _code_row(session)
    assert code.status == "pending" and code.attempts == 1 and "ConnectError" in (code.last_error or "")
    assert code.next_attempt_at is not None and "验证码" in (code.body_zh or "")  # nothing lost, text kept
    provider = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    later = clock.now + timedelta(seconds=settings.outbox_retry_base_seconds)
    got = sender.drain(
        session_factory=session_factory,
        gateways={"sms": provider.gateway()},
        now=lambda: later,
        cfg=cfg,
        lanes=["fast"],
    )
    code = _code_row(session)
    assert (
        got.sent == 1 and provider.ids == [str(code.id)] and code.status == "sent" and "******" in (code.body_zh or "")
    )
