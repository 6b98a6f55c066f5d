"""The visit photo on real faces: a match certifies quietly, a mismatch certifies but goes to review, none enrols."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from faces import service as face_service
from models import BiometricConsent, Certification, FaceTemplate, HomeVisitTask
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


def test_mismatch_still_certifies_but_goes_to_review_and_can_be_rejected(client, session, settings, clock) -> None:
    pid, task_id, worker, supervisor = _world(session, settings, clock, enrol="Colin_Powell/1.jpg")
    sup = f.staff_token(client, supervisor)
    session.commit()  # tokens read the staff rows; end that read so later counts see the app's writes
    resp = _certify(client, task_id, f.staff_token(client, worker), "c-2", photo("Jennifer_Aniston/1.jpg"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["photo_decision"] == "no_match" and body["needs_review"] is True
    assert body["review_reasons"] == ["photo_no_match"]
    assert count(session, Certification, Certification.pensioner_id == pid) == 1
    assert [q["visit"]["id"] for q in client.get("/api/v1/home-visits/review", headers=sup).json()] == [body["id"]]
    rejected = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "rejected"}, headers=sup)
    assert rejected.status_code == 200, rejected.text
    assert count(session, Certification, Certification.pensioner_id == pid) == 0
    assert count(session, HomeVisitTask, HomeVisitTask.id == task_id, HomeVisitTask.status == "open") == 1


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
