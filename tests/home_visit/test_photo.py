"""The visit photo on real faces: a match certifies, a mismatch waits for a supervisor, a rejection withdraws."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from certification import exports
from faces import service as face_service
from models import BiometricConsent, Certification, FaceTemplate, HomeVisitTask, Pensioner
from scheduler import sweeps
from tests import factories as f
from tests.conftest import faces_dir
from tests.home_visit.helpers import IN_CITY, PDF, at, count, open_task, season

FACES = faces_dir()
pytestmark = pytest.mark.skipif(
    FACES is None, reason="real face photos not found (../shared/faces or PENSION_CERT_TEST_FACES)"
)


def photo(rel: str) -> bytes:
    assert FACES is not None
    return (Path(FACES) / "identities" / rel).read_bytes()


def _world(session, settings, clock, *, enrol: str | None):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    p = f.pensioner(session, bedridden=True)
    if enrol:
        face_service.enrol(
            session=session,
            settings=settings,
            pensioner_id=p.id,
            photos=[photo(enrol)],
            source="counter",
            consent_method="paper_form",
            staff_id=None,
            now=at(2025, 5, 1),
        )
    task = open_task(session, settings, p, clock.now)
    session.commit()
    return p.id, task.id, worker, supervisor


def _certify(client, task_id, hdr, key, picture, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/home-visits/{task_id}/visits",
        data={"outcome": "certified", **IN_CITY, **extra},
        files={"photo": ("p.jpg", picture, "image/jpeg"), "form_scan": ("form.pdf", PDF, "application/pdf")},
        headers={**hdr, "Idempotency-Key": key},
    )


def test_matching_photo_certifies_through_home_visit(client, session, settings, clock) -> None:
    pid, task_id, worker, _ = _world(session, settings, clock, enrol="Colin_Powell/1.jpg")
    resp = _certify(client, task_id, f.staff_token(client, worker), "c-1", photo("Colin_Powell/2.jpg"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["photo_decision"] == "match" and body["photo_distance"] < 0.5
    assert body["needs_review"] is False and body["task_status"] == "done"
    cert = session.scalar(select(Certification).where(Certification.pensioner_id == pid))
    assert cert.channel == "home_visit" and cert.home_visit_id == body["id"] and cert.season_year == 2026
    session.commit()


def test_mismatch_waits_for_review_and_a_rejection_certifies_nothing(client, session, settings, clock) -> None:
    pid, task_id, worker, supervisor = _world(session, settings, clock, enrol="Colin_Powell/1.jpg")
    sup = f.staff_token(client, supervisor)
    session.commit()  # tokens read the staff rows; end that read so later counts see the app's writes
    resp = _certify(client, task_id, f.staff_token(client, worker), "c-2", photo("Jennifer_Aniston/1.jpg"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["photo_decision"] == "no_match" and body["needs_review"] is True
    assert body["review_reasons"] == ["photo_no_match"] and body["effect"] == {"awaiting_review": "photo_no_match"}
    assert count(session, Certification, Certification.pensioner_id == pid) == 0
    assert [q["visit"]["id"] for q in client.get("/api/v1/home-visits/review", headers=sup).json()] == [body["id"]]
    rejected = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "rejected"}, headers=sup)
    assert rejected.status_code == 200, rejected.text
    assert count(session, Certification, Certification.pensioner_id == pid) == 0
    assert count(session, HomeVisitTask, HomeVisitTask.id == task_id, HomeVisitTask.status == "open") == 1


def _suspended_world(session, session_factory, settings, clock):  # type: ignore[no-untyped-def]
    """The issue's pensioner: enrolled, suspended from July for the missed season, visited in December."""
    pid, _task, worker, supervisor = _world(session, settings, clock, enrol=None)
    face_service.enrol(
        session=session,
        settings=settings,
        pensioner_id=pid,
        photos=[photo("Colin_Powell/1.jpg")],
        source="counter",
        consent_method="paper_form",
        staff_id=None,
        now=at(2025, 5, 1),
    )
    session.execute(delete(HomeVisitTask))  # the June task is not the point here
    session.commit()
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 7, 20), names=["suspensions"])
    clock.now = at(2026, 12, 10)
    p = session.get(Pensioner, pid)
    task = open_task(session, settings, p, clock.now)
    session.commit()
    return pid, task.id, worker, supervisor


def _standing(session, pid: int) -> tuple[str, list[list[str]]]:  # type: ignore[no-untyped-def]
    """The pension status and the back-pay ledger rows (entry, months)."""
    session.expire_all()
    status = session.get(Pensioner, pid).pension_status
    ledger = [[r[7], r[6]] for r in exports.reinstatement_rows(session=session)]
    session.commit()
    return status, ledger


def test_a_mismatch_does_not_reinstate_a_suspended_pension(client, session, session_factory, settings, clock) -> None:
    pid, task_id, worker, supervisor = _suspended_world(session, session_factory, settings, clock)
    hdr = f.staff_token(client, worker)
    sup = f.staff_token(client, supervisor)
    session.commit()
    resp = _certify(client, task_id, hdr, "c-4", photo("Jennifer_Aniston/1.jpg"))
    assert resp.status_code == 201 and resp.json()["needs_review"] is True, resp.text
    assert _standing(session, pid) == ("suspended", [])
    no = client.post(f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "rejected"}, headers=sup)
    assert no.status_code == 200, no.text
    assert _standing(session, pid) == ("suspended", [])


def test_rejecting_a_certifying_visit_withdraws_it_and_reverses_the_back_pay(
    client, session, session_factory, settings, clock
) -> None:
    pid, task_id, worker, supervisor = _suspended_world(session, session_factory, settings, clock)
    hdr = f.staff_token(client, worker)
    sup = f.staff_token(client, supervisor)
    session.commit()
    # The face matches but there is no GPS fix: certified (and reinstated) at once, flagged for review.
    resp = client.post(
        f"/api/v1/home-visits/{task_id}/visits",
        data={"outcome": "certified"},
        files={
            "photo": ("p.jpg", photo("Colin_Powell/2.jpg"), "image/jpeg"),
            "form_scan": ("form.pdf", PDF, "application/pdf"),
        },
        headers={**hdr, "Idempotency-Key": "c-5"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["review_reasons"] == ["gps_missing"] and resp.json()["photo_decision"] == "match"
    cert_id = resp.json()["effect"]["certification_id"]
    assert _standing(session, pid) == ("active", [["reinstatement", "5"]])
    no = client.post(f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "rejected"}, headers=sup)
    assert no.status_code == 200, no.text
    assert no.json()["task_status"] == "open"
    assert _standing(session, pid) == ("suspended", [["reinstatement", "5"], ["reversal", "-5"]])
    cert = session.get(Certification, cert_id)
    assert cert is not None and cert.withdrawn_at is not None and cert.withdrawn_by_staff_id == supervisor.id
    session.commit()
    # No reinstatement is left standing, so no later sweep has anything to undo: the pension stays suspended.
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 12, 11), names=["suspensions"])
    assert _standing(session, pid)[0] == "suspended"


def test_first_photo_enrols_a_template_with_consent(client, session, settings, clock) -> None:
    pid, task_id, worker, _ = _world(session, settings, clock, enrol=None)
    resp = _certify(
        client, task_id, f.staff_token(client, worker), "c-3", photo("Colin_Powell/2.jpg"), consent_recorded="true"
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["photo_decision"] == "enrolled"
    template = session.scalar(select(FaceTemplate).where(FaceTemplate.pensioner_id == pid))
    assert template.source == "home_visit" and template.kind == "anchor"
    consent = session.scalar(select(BiometricConsent).where(BiometricConsent.pensioner_id == pid))
    assert consent.method == "home_visit_form" and consent.recorded_by_staff_id == worker.id
    session.commit()
