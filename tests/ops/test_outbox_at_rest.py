"""Login codes leave the database once sent, and outbox rows are purged on a retention (issue 15 item 5)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging.deps import get_gateways
from messaging.gateways import HttpBatchGateway
from models import AuditEvent, Notification
from tests import factories
from tests.conftest import Clock
from tests.scheduler.helpers import run


def _request_code(client: TestClient, session: Session) -> tuple[Notification, str]:
    factories.seed_regions(session)
    p = factories.pensioner(session)
    session.commit()
    assert client.post("/api/v1/auth/otp", json={"national_id": p.national_id}).status_code == 202
    session.expire_all()
    note = session.scalars(select(Notification).where(Notification.kind == "otp")).one()
    found = re.search(r"验证码是(\d+)", note.body_zh or "")
    assert found is not None
    session.commit()
    return note, found.group(1)


def _texts(session: Session, note_id: int) -> str:
    session.expire_all()
    note = session.get(Notification, note_id)
    assert note is not None
    text = f"{note.body_zh} {note.body_en}"
    session.commit()
    return text


def test_a_sent_login_code_is_redacted_in_the_outbox(
    app: FastAPI, client: TestClient, session: Session, clock: Clock
) -> None:
    delivered: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["messages"]
        delivered.extend(m["text"] for m in messages)
        return httpx.Response(200, json={"results": [{"id": m["id"], "status": "accepted"} for m in messages]})

    gateway = HttpBatchGateway(
        url="https://sms.example/batch", client=httpx.Client(transport=httpx.MockTransport(provider))
    )
    app.dependency_overrides[get_gateways] = lambda: {"sms": gateway}
    factories.seed_regions(session)
    p = factories.pensioner(session)
    session.commit()
    assert client.post("/api/v1/auth/otp", json={"national_id": p.national_id}).status_code == 202
    # The request handed the code over right after it committed: no sender run needed.
    note = session.scalars(select(Notification).where(Notification.kind == "otp")).one()
    session.commit()
    found = re.search(r"验证码是(\d+)", delivered[0]) if len(delivered) == 1 else None
    assert found is not None and note.status == "sent"  # the pensioner got the code...
    code = found.group(1)
    text = _texts(session, note.id)
    assert code not in text and "******" in text  # ...the database no longer has it
    assert re.search(r"\d{4,}", text) is None


def test_with_the_log_gateway_the_code_stays_readable_until_it_expires(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
) -> None:
    note, code = _request_code(client, session)  # development: the outbox row is the only delivery
    run(session_factory, settings, clock.now + timedelta(minutes=1), "outbox")
    assert code in _texts(session, note.id)
    counts = run(
        session_factory, settings, clock.now + timedelta(seconds=settings.otp_ttl_seconds + 60), "purge_outbox"
    )
    assert counts["login_codes_redacted"] == 1
    assert code not in _texts(session, note.id)


def test_outbox_rows_are_purged_after_their_retention(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    now = clock.now
    old, recent = now - timedelta(days=settings.outbox_retention_days + 1), now - timedelta(days=1)

    def note(kind: str, created: object, status: str = "sent", season: int | None = None) -> None:
        session.add(
            Notification(
                phone="13800000001",
                kind=kind,
                body_zh="x",
                body_en="x",
                status=status,
                season_year=season,
                created_at=created,
                next_attempt_at=created,
            )
        )

    note("otp", old)
    note("otp", old, status="failed")
    note("staff_overdue_visits", old)
    note("otp", recent)
    note("otp", old, status="pending")  # never sent: the sender decides, not the purge
    note("reminder_d30", old, season=now.year - 3)
    note("reminder_d14", old, season=now.year)  # this season's reminders are counted and keep the sweep idempotent
    session.commit()
    counts = run(session_factory, settings, now, "purge_outbox")
    assert counts["outbox_purged"] == 4
    session.expire_all()
    left = sorted((n.kind, n.status) for n in session.scalars(select(Notification)))
    assert left == [("otp", "pending"), ("otp", "sent"), ("reminder_d14", "sent")]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.purged")).one()
    assert event.detail is not None and event.detail["outbox_purged"] == 4
    session.commit()
