"""Issue 14, item 1: "deceased" from a field worker holds the pension; only a supervisor's approval ends it."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import exports
from models import AuditEvent, Evidence, HomeVisit, HomeVisitTask, Notification, Pensioner
from tests.certification_integrity.helpers import (
    IN_CITY,
    PDF,
    World,
    at,
    counter_body,
    png,
    post_visit,
    token,
    with_task,
    world,
)
from tests.home_visit.helpers import count

DEATH = {"outcome": "deceased", "death_date": "2026-06-02", **IN_CITY}
CERTIFICATE = {"death_certificate": ("certificate.pdf", PDF, "application/pdf")}


def _reported(client: TestClient, session: Session, settings, clock) -> tuple[World, dict]:  # type: ignore[no-untyped-def]
    w = with_task(session, settings, world(session, settings, clock), clock.now)
    resp = post_visit(client, w.task_id, token(client, session, w.worker), "dead-1", DEATH, CERTIFICATE)
    assert resp.status_code == 201, resp.text
    return w, resp.json()


def _status(session: Session, pensioner_id: int) -> str:
    session.expire_all()
    p = session.get(Pensioner, pensioner_id)
    assert p is not None
    status = p.pension_status
    session.commit()
    return status


def _holds(session: Session) -> list[dict[str, str]]:
    rows = [dict(zip(exports.HOLD_COLUMNS, r, strict=True)) for r in exports.hold_rows(session=session)]
    session.commit()
    return rows


def test_only_the_assigned_field_worker_records_a_visit(client, session, settings, clock) -> None:
    w = with_task(session, settings, world(session, settings, clock), clock.now)
    colleague = token(client, session, w.colleague)
    resp = post_visit(client, w.task_id, colleague, "dead-x", DEATH, CERTIFICATE)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "task_not_assigned"
    assert count(session, HomeVisit) == 0 and _status(session, w.pensioner.id) == "active"
    # Taking the task over first is allowed, and audited with who had it before.
    taken = client.post(f"/api/v1/home-visits/{w.task_id}/take", headers=colleague)
    assert taken.status_code == 200, taken.text
    assert taken.json()["assigned_staff_id"] == w.colleague.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "home_visit.task_taken_over"))
    assert event is not None and event.actor_id == str(w.colleague.id)
    assert event.detail == {"from": w.worker.id, "to": w.colleague.id}
    session.commit()
    resp = post_visit(client, w.task_id, colleague, "nah-1", {"outcome": "not_at_home", **IN_CITY})
    assert resp.status_code == 201, resp.text
    # ... and now the first worker is the one refused.
    resp = post_visit(
        client, w.task_id, token(client, session, w.worker), "nah-2", {"outcome": "not_at_home", **IN_CITY}
    )
    assert resp.status_code == 403 and resp.json()["code"] == "task_not_assigned"


def test_deceased_needs_a_death_certificate_or_a_family_statement_with_a_photo(
    client, session, settings, clock
) -> None:
    w = with_task(session, settings, world(session, settings, clock), clock.now)
    hdr = token(client, session, w.worker)
    resp = post_visit(client, w.task_id, hdr, "d-1", DEATH)
    assert resp.status_code == 422 and resp.json()["code"] == "death_evidence_required", resp.text
    statement_only = {"family_statement": ("statement.pdf", PDF, "application/pdf")}
    resp = post_visit(client, w.task_id, hdr, "d-2", DEATH, statement_only)
    assert resp.status_code == 422 and resp.json()["code"] == "death_evidence_required"
    bad = {"death_certificate": ("certificate.docx", b"PK\x03\x04", "application/octet-stream")}
    resp = post_visit(client, w.task_id, hdr, "d-3", DEATH, bad)
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_death_document"
    assert count(session, HomeVisit) == 0 and count(session, Evidence) == 0
    assert _status(session, w.pensioner.id) == "active"
    with_photo = {**statement_only, "document_photo": ("cremation.png", png(), "image/png")}
    resp = post_visit(client, w.task_id, hdr, "d-4", DEATH, with_photo)
    assert resp.status_code == 201, resp.text
    kinds = set(session.scalars(select(Evidence.kind)))
    session.commit()
    assert kinds == {"family_statement", "death_document_photo"}


def test_deceased_holds_the_pension_until_a_supervisor_approves(client, session, settings, clock) -> None:
    w, body = _reported(client, session, settings, clock)
    assert body["needs_review"] is True and "deceased_reported" in body["review_reasons"]
    assert body["effect"]["pension_on_hold"] is True and "pension_terminated" not in body["effect"]
    session.expire_all()
    person = session.get(Pensioner, w.pensioner.id)
    assert person is not None and person.pension_status == "on_hold" and person.death_date is None
    nid = person.national_id
    session.commit()
    # Payroll sees the hold: payment stops from July (the month after the report).
    assert [(h["national_id"], h["status"], h["held_from_month"]) for h in _holds(session)] == [
        (nid, "on_hold", "2026-07")
    ]
    counter = token(client, session, w.counter) | {"Idempotency-Key": "desk-1"}
    resp = client.post("/api/v1/certifications/counter", json=counter_body(session, nid, clock.now), headers=counter)
    assert resp.status_code == 409 and resp.json()["code"] == "pension_on_hold"
    # The worker who reported cannot approve it; a supervisor of the district does.
    sup = token(client, session, w.supervisor)
    assert client.get("/api/v1/home-visits/review", headers=sup).json()[0]["visit"]["id"] == body["id"]
    clock.now = at(2026, 6, 12)
    sup = token(client, session, w.supervisor)
    ok = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert ok.status_code == 200, ok.text
    session.expire_all()
    person = session.get(Pensioner, w.pensioner.id)
    assert person is not None and person.pension_status == "terminated" and person.death_date == date(2026, 6, 2)
    terminated = session.scalar(select(AuditEvent).where(AuditEvent.action == "pension.terminated"))
    assert terminated is not None and terminated.actor_id == str(w.supervisor.id)
    assert (terminated.detail["before"], terminated.detail["after"]) == ("on_hold", "terminated")
    session.commit()
    assert [h["status"] for h in _holds(session)] == ["terminated"]


def test_rejecting_a_death_report_restores_status_login_and_counter(client, session, settings, clock) -> None:
    w, body = _reported(client, session, settings, clock)
    assert _status(session, w.pensioner.id) == "on_hold"
    clock.now = at(2026, 8, 3)
    sup = token(client, session, w.supervisor)
    resp = client.post(
        f"/api/v1/home-visits/{body['id']}/review",
        json={"decision": "rejected", "note": "本人健在，家属误报"},
        headers=sup,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["task_status"] == "open"
    assert _status(session, w.pensioner.id) == "active"
    assert count(session, HomeVisitTask, HomeVisitTask.id == w.task_id, HomeVisitTask.status == "open") == 1
    # The hold is released: July's payment, held, is paid back; August's is paid as usual.
    (hold,) = _holds(session)
    assert (hold["status"], hold["back_pay_months"]) == ("released", "1")
    otp = client.post("/api/v1/auth/otp", json={"national_id": w.pensioner.national_id})
    assert otp.status_code == 202, otp.text
    session.commit()  # a fresh snapshot: the request wrote the code
    assert count(session, Notification, Notification.pensioner_id == w.pensioner.id, Notification.kind == "otp") == 1
    counter = token(client, session, w.counter) | {"Idempotency-Key": "desk-2"}
    resp = client.post(
        "/api/v1/certifications/counter",
        json=counter_body(session, w.pensioner.national_id, clock.now),
        headers=counter,
    )
    assert resp.status_code == 200, resp.text


def test_a_supervisor_who_took_the_task_cannot_approve_their_own_report(client, session, settings, clock) -> None:
    w = with_task(session, settings, world(session, settings, clock), clock.now)
    sup = token(client, session, w.supervisor)
    assert client.post(f"/api/v1/home-visits/{w.task_id}/take", headers=sup).status_code == 200
    resp = post_visit(client, w.task_id, sup, "dead-s", DEATH, CERTIFICATE)
    assert resp.status_code == 201, resp.text
    own = client.post(f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert own.status_code == 403 and own.json()["code"] == "own_visit_review"
    assert _status(session, w.pensioner.id) == "on_hold"
