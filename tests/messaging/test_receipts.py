"""Delivery receipts: authenticated, idempotent, per-item rejections, failed reminders forwarded to the family once."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date

import pytest
from pydantic import ValidationError

from core.settings import DEV_SMS_RECEIPT_SECRET, Settings
from messaging.schemas import MAX_REPORTS
from models import Notification
from tests import factories as f
from tests.messaging.helpers import FakeProvider, outbox_rows, run_sender

URL = "/api/v1/messaging/delivery-reports"
BEARER = {"Authorization": f"Bearer {DEV_SMS_RECEIPT_SECRET}"}


def _reminder_sent(session, factory, settings, clock, **pensioner):  # type: ignore[no-untyped-def]
    """A pensioner (张三明) with one d30 reminder, handed to the fake provider; returns (pensioner id, message id, provider)."""
    f.seed_regions(session)
    p = f.pensioner(session, **{"name": "张三明", "phone": "13800000001", "family_phone": "13900000002", **pensioner})
    session.add(
        Notification(
            pensioner_id=p.id,
            phone=p.phone,
            kind="reminder_d30",
            season_year=2026,
            recipient="self",
            deadline_date=date(2026, 6, 30),
            status="pending",
            next_attempt_at=clock.now,
            created_at=clock.now,
        )
    )
    session.commit()
    provider = FakeProvider()
    assert run_sender(factory, settings, provider, clock.now)["sent"] == 1
    return p.id, provider.sent[0][2], provider


def _report(message_id: int | str, status: str, **extra: str) -> dict[str, object]:
    return {"message_id": str(message_id), "status": status, "at": "2026-05-01T02:00:05Z", **extra}


def test_delivered_report_marks_the_message(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    resp = client.post(URL, json={"reports": [_report(mid, "delivered")]}, headers=BEARER)
    assert resp.status_code == 200, resp.text
    assert resp.json()["updated"] == 1 and resp.json()["items"][0]["result"] == "updated"
    (row,) = outbox_rows(session, pid)
    assert row["delivery_status"] == "delivered" and row["delivery_error"] is None
    assert row["delivered_at"].isoformat() == "2026-05-01T02:00:05+00:00"
    assert row["status"] == "sent"  # the sender's state is its own


def test_failed_reminder_goes_to_the_family_phone_once(client, session, session_factory, settings, clock) -> None:
    pid, mid, provider = _reminder_sent(session, session_factory, settings, clock)
    body = {"reports": [_report(mid, "failed", error_code="UNDELIV")]}
    first = client.post(URL, json=body, headers=BEARER)
    assert first.status_code == 200, first.text
    assert first.json()["family_copies_queued"] == 1
    again = client.post(URL, json=body, headers=BEARER)  # the provider repeats itself
    assert again.json()["unchanged"] == 1 and again.json()["family_copies_queued"] == 0
    rows = outbox_rows(session, pid)
    assert [(r["recipient"], r["phone"]) for r in rows] == [("self", "13800000001"), ("family", "13900000002")]
    assert rows[0]["delivery_status"] == "failed" and rows[0]["delivery_error"] == "UNDELIV"
    assert run_sender(session_factory, settings, provider, clock.now)["sent"] == 1
    phone, text, _ = provider.sent[-1]
    assert phone == "13900000002"
    assert "您的家人张*明尚未完成" in text and "2026年6月30日" in text and "张三明" not in text


def test_family_copy_not_queued_twice_when_the_family_already_has_one(
    client, session, session_factory, settings, clock
) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    session.add(
        Notification(
            pensioner_id=pid,
            phone="13900000002",
            kind="reminder_d30",
            season_year=2026,
            recipient="family",
            deadline_date=date(2026, 6, 30),
            status="sent",
            created_at=clock.now,
        )
    )
    session.commit()
    resp = client.post(URL, json={"reports": [_report(mid, "failed")]}, headers=BEARER)
    assert resp.json()["updated"] == 1 and resp.json()["family_copies_queued"] == 0
    assert len(outbox_rows(session, pid)) == 2


def test_no_family_phone_no_copy(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock, family_phone=None)
    resp = client.post(URL, json={"reports": [_report(mid, "failed")]}, headers=BEARER)
    assert resp.json()["updated"] == 1 and resp.json()["family_copies_queued"] == 0
    assert len(outbox_rows(session, pid)) == 1


def test_unknown_ids_are_rejected_per_item_or_all_with_422(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    mixed = client.post(URL, json={"reports": [_report(mid, "delivered"), _report(999999, "failed")]}, headers=BEARER)
    assert mixed.status_code == 200, mixed.text
    assert [i["result"] for i in mixed.json()["items"]] == ["updated", "rejected"]
    assert mixed.json()["items"][1]["reason"] == "unknown_message"
    before = outbox_rows(session, pid)
    for bad in ("999998", "no-such-provider-id", "99999999999999999999"):
        resp = client.post(URL, json={"reports": [_report(bad, "failed")]}, headers=BEARER)
        assert resp.status_code == 422 and resp.json()["code"] == "receipt_unknown_messages", resp.text
        assert resp.json()["message"] and resp.json()["message_en"]
    assert outbox_rows(session, pid) == before


def test_bad_token_or_signature_changes_nothing(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    raw = json.dumps({"reports": [_report(mid, "failed")]}).encode()
    json_type = {"Content-Type": "application/json"}
    none = client.post(URL, content=raw, headers=json_type)
    assert none.status_code == 401 and none.json()["code"] == "receipt_not_authenticated"
    wrong = client.post(URL, content=raw, headers={**json_type, "Authorization": "Bearer guessed"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "receipt_credentials_invalid"
    assert wrong.json()["message"].startswith("送达回执") and wrong.json()["message_en"]
    other_key = hmac.new(b"another secret", raw, hashlib.sha256).hexdigest()
    forged = client.post(URL, content=raw, headers={**json_type, "X-Signature": f"sha256={other_key}"})
    assert forged.status_code == 403 and forged.json()["code"] == "receipt_credentials_invalid"
    (row,) = outbox_rows(session, pid)
    assert row["delivery_status"] is None
    signed = hmac.new(DEV_SMS_RECEIPT_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    ok = client.post(URL, content=raw, headers={**json_type, "X-Signature": f"sha256={signed}"})
    assert ok.status_code == 200 and ok.json()["updated"] == 1, ok.text


def test_replayed_and_late_reports_change_nothing(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    body = {"reports": [_report(mid, "delivered")]}
    assert client.post(URL, json=body, headers=BEARER).json()["updated"] == 1
    first = outbox_rows(session, pid)
    replay = client.post(URL, json=body, headers=BEARER)
    late_failure = client.post(
        URL, json={"reports": [_report(mid, "failed", at="2026-05-01T03:00:00Z")]}, headers=BEARER
    )
    assert replay.json()["unchanged"] == 1 and late_failure.json()["unchanged"] == 1
    assert late_failure.json()["family_copies_queued"] == 0
    assert outbox_rows(session, pid) == first  # delivered is final


def test_report_by_provider_message_id(client, session, session_factory, settings, clock) -> None:
    pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    note = session.get(Notification, mid)
    assert note is not None
    note.provider_message_id = "PRV-20260501-0001"
    session.commit()
    resp = client.post(URL, json={"reports": [_report("PRV-20260501-0001", "delivered")]}, headers=BEARER)
    assert resp.json()["updated"] == 1, resp.text
    assert outbox_rows(session, pid)[0]["delivery_status"] == "delivered"


def test_the_receipt_secret_must_be_set_outside_development(settings) -> None:
    keys = {"secret_key": "s" * 40, "template_key": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="}
    with pytest.raises(ValidationError, match="SMS_RECEIPT_SECRET"):
        Settings(environment="production", **keys)
    assert Settings(environment="production", sms_receipt_secret="r" * 32, **keys).sms_receipt_secret == "r" * 32


def test_a_failed_suspension_notice_is_forwarded_to_the_family(
    client, session, session_factory, settings, clock
) -> None:
    f.seed_regions(session)
    p = f.pensioner(session, name="张三明", birth=date(1960, 1, 1), phone="13800000031", family_phone="13900000031")
    session.add(
        Notification(
            pensioner_id=p.id,
            phone=p.phone,
            kind="notice_suspension_202607",
            season_year=2026,
            recipient="self",
            deadline_date=date(2026, 7, 1),
            status="pending",
            next_attempt_at=clock.now,
            created_at=clock.now,
        )
    )
    session.commit()
    provider = FakeProvider()
    run_sender(session_factory, settings, provider, clock.now)
    assert "养老金自2026年7月起暂停发放" in provider.sent[0][1]
    resp = client.post(URL, json={"reports": [_report(provider.sent[0][2], "failed")]}, headers=BEARER)
    assert resp.json()["family_copies_queued"] == 1, resp.text
    family = outbox_rows(session, p.id)[-1]
    assert family["phone"] == "13900000031" and family["recipient"] == "family"
    assert family["body_zh"].startswith(
        "【养老金认证】以下通知无法送达您的家人张*明本人，特转发给您：【养老金认证】您未在规定期限内"
    )


def test_a_full_batch_fits_the_body_limit(client, session, session_factory, settings, clock) -> None:
    _pid, mid, _ = _reminder_sent(session, session_factory, settings, clock)
    reports = [_report(mid, "delivered", error_code="DELIVRD")] + [
        _report(f"PRV-2026050100{i:06d}", "failed", error_code="UNDELIV") for i in range(MAX_REPORTS - 1)
    ]
    raw = json.dumps({"reports": reports}).encode()
    assert len(raw) <= settings.max_json_bytes
    resp = client.post(URL, content=raw, headers={**BEARER, "Content-Type": "application/json"})
    assert resp.status_code == 200 and resp.json()["updated"] == 1 and resp.json()["rejected"] == MAX_REPORTS - 1
