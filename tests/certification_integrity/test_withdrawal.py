"""Issue 14, item 2: a withdrawn certification gives the back pay back, visibly; an unmatched photo waits for approval."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import exports
from models import AuditEvent, Certification, HomeVisitTask, Pensioner, Suspension
from scheduler import sweeps
from tests import factories as f
from tests.certification_integrity.helpers import (
    IN_CITY,
    PDF,
    at,
    counter_body,
    png,
    post_visit,
    suspend_everyone,
    token,
    with_task,
    world,
)
from tests.home_visit.helpers import count, open_task


def _counter(client: TestClient, session: Session, staff, national_id: str, key: str, now):  # type: ignore[no-untyped-def]
    hdr = token(client, session, staff) | {"Idempotency-Key": key}
    return client.post("/api/v1/certifications/counter", json=counter_body(session, national_id, now), headers=hdr)


def _reinstatements(session: Session) -> list[dict[str, str]]:
    session.expire_all()
    rows = [
        dict(zip(exports.REINSTATEMENT_COLUMNS, r, strict=True)) for r in exports.reinstatement_rows(session=session)
    ]
    session.commit()
    return rows


def _state(session: Session, pensioner_id: int) -> tuple[str, bool]:
    """(pension status, whether the 2026 suspension is open)."""
    session.expire_all()
    p = session.get(Pensioner, pensioner_id)
    s = session.scalar(select(Suspension).where(Suspension.pensioner_id == pensioner_id))
    assert p is not None and s is not None
    out = (p.pension_status, s.reinstated_at is None)
    session.commit()
    return out


def test_supervisor_withdraws_a_certification_and_payroll_sees_the_reversal(
    client, session, session_factory, settings, clock
) -> None:
    w = world(session, settings, clock)
    suspend_everyone(session_factory, settings)
    clock.now = at(2026, 12, 10)
    first = _counter(client, session, w.counter, w.pensioner.national_id, "desk-1", clock.now)
    assert first.status_code == 200, first.text
    cert_id = first.json()["id"]
    assert _state(session, w.pensioner.id) == ("active", False)
    (paid,) = _reinstatements(session)
    assert (paid["entry"], paid["back_pay_months"]) == ("reinstatement", "5")  # July to November

    sup = token(client, session, w.supervisor)
    url = f"/api/v1/certifications/{cert_id}/withdraw"
    assert client.post(url, json={}, headers=sup).status_code == 422
    assert client.post(url, json={"reason": "冒名顶替"}, headers=token(client, session, w.counter)).status_code == 403
    elsewhere = f.staff(session, role="supervisor", region=f.WENDENG)
    session.commit()
    outside = client.post(url, json={"reason": "核实为冒名顶替"}, headers=token(client, session, elsewhere))
    assert outside.status_code == 404 and outside.json()["code"] == "certification_not_found"
    resp = client.post(url, json={"reason": "柜台人员核实有误，系冒名顶替"}, headers=sup)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"] == cert_id and body["withdrawn_by_staff_id"] == w.supervisor.id and body["withdrawn_at"]
    assert body["withdrawal_reason"] == "柜台人员核实有误，系冒名顶替"
    # Kept, marked withdrawn; the suspension it lifted is open again; the pension is suspended again.
    assert count(session, Certification, Certification.id == cert_id, Certification.withdrawn_at.is_not(None)) == 1
    assert _state(session, w.pensioner.id) == ("suspended", True)
    again = client.post(url, json={"reason": "再次撤销"}, headers=sup)
    assert again.status_code == 409 and again.json()["code"] == "certification_withdrawn"

    paid, reversal = _reinstatements(session)
    assert (reversal["entry"], reversal["back_pay_months"], reversal["reverses_entry_id"]) == (
        "reversal",
        "-5",
        paid["entry_id"],
    )
    assert reversal["effective_month"] == paid["effective_month"] == "2026-12"
    status = {r[5] for r in exports.suspension_rows(session=session, season_year=2026)}
    session.commit()
    assert status == {"suspended"}
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "certification.withdrawn"))
    assert event is not None and event.actor_id == str(w.supervisor.id)
    assert event.detail["pension_status"] == {"before": "active", "after": "suspended"}
    session.commit()

    # Certifying properly later reinstates again, under a new id.
    clock.now = at(2027, 1, 5)
    later = _counter(client, session, w.counter, w.pensioner.national_id, "desk-2", clock.now)
    assert later.status_code == 200 and later.json()["id"] != cert_id
    assert _state(session, w.pensioner.id) == ("active", False)
    assert [(r["entry"], r["back_pay_months"]) for r in _reinstatements(session)] == [
        ("reinstatement", "5"),
        ("reversal", "-5"),
        ("reinstatement", "6"),
    ]


def test_after_a_withdrawal_the_next_sweep_suspends(client, session, session_factory, settings, clock) -> None:
    w = world(session, settings, clock)
    first = _counter(client, session, w.counter, w.pensioner.national_id, "desk-1", clock.now)
    assert first.status_code == 200, first.text
    sup = token(client, session, w.supervisor)
    resp = client.post(
        f"/api/v1/certifications/{first.json()['id']}/withdraw", json={"reason": "照片与本人不符"}, headers=sup
    )
    assert resp.status_code == 200, resp.text
    out = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 7, 20), names=["suspensions"]
    )
    assert out["suspended"] == 1
    assert _state(session, w.pensioner.id) == ("suspended", True)


def test_an_unmatched_visit_photo_reinstates_only_when_a_supervisor_approves(
    client, session, session_factory, settings, clock
) -> None:
    w = world(session, settings, clock)
    other = f.pensioner(session, name="李桂兰", bedridden=True, phone="13800000077")
    session.commit()
    suspend_everyone(session_factory, settings)
    clock.now = at(2026, 12, 10)
    with_task(session, settings, w, clock.now)
    task = open_task(session, settings, other, clock.now)
    task.assigned_staff_id = w.worker.id
    other_task = task.id
    session.commit()
    hdr = token(client, session, w.worker)
    # No template and no consent to enrol: the photo could not be matched.
    files = {"photo": ("p.png", png(), "image/png"), "form_scan": ("form.pdf", PDF, "application/pdf")}
    resp = post_visit(client, w.task_id, hdr, "c-1", {"outcome": "certified", **IN_CITY}, files)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["needs_review"] is True and body["review_reasons"] == ["photo_not_enrolled"]
    assert body["effect"] == {"awaiting_review": "photo_not_enrolled"}
    assert _state(session, w.pensioner.id) == ("suspended", True)
    assert count(session, Certification) == 0 and _reinstatements(session) == []

    clock.now = at(2026, 12, 11)
    sup = token(client, session, w.supervisor)
    ok = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert ok.status_code == 200, ok.text
    assert _state(session, w.pensioner.id) == ("active", False)
    cert = session.scalar(select(Certification).where(Certification.pensioner_id == w.pensioner.id))
    assert cert is not None and cert.channel == "home_visit" and cert.home_visit_id == body["id"]
    session.commit()
    assert [r["back_pay_months"] for r in _reinstatements(session)] == ["5"]

    # The same visit rejected for another pensioner: nothing certified, the task reopened, still suspended.
    hdr = token(client, session, w.worker)
    other_visit = post_visit(client, other_task, hdr, "c-2", {"outcome": "certified", **IN_CITY}, files)
    assert other_visit.status_code == 201, other_visit.text
    no = client.post(
        f"/api/v1/home-visits/{other_visit.json()['id']}/review", json={"decision": "rejected"}, headers=sup
    )
    assert no.status_code == 200, no.text
    assert _state(session, other.id) == ("suspended", True)
    assert count(session, Certification, Certification.pensioner_id == other.id) == 0
    assert count(session, HomeVisitTask, HomeVisitTask.id == other_task, HomeVisitTask.status == "open") == 1
