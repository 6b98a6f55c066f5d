"""The field-staff API: task list, form PDF, visits (idempotent), outcomes, help requests, review."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
from sqlalchemy import select

from models import (
    AuditEvent,
    Certification,
    HomeVisit,
    HomeVisitTask,
    IdempotencyRecord,
    Notification,
    Pensioner,
    Region,
)
from tests import factories as f
from tests.home_visit.helpers import IN_CITY, PDF, at, count, open_task, season


def _world(session, settings, clock, **pensioner):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    elsewhere = f.staff(session, role="field", region=f.WENDENG)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    p = f.pensioner(session, name="王秀英", bedridden=True, **pensioner)
    task = open_task(session, settings, p, clock.now)
    session.commit()
    return p, task.id, worker, elsewhere, supervisor


def _post(client, task_id, hdr, key, data, files=None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/home-visits/{task_id}/visits",
        data=data,
        files=files or {},
        headers={**hdr, "Idempotency-Key": key},
    )


def test_field_worker_sees_own_tasks_with_address_and_phones(client, session, settings, clock) -> None:
    _p, task_id, worker, elsewhere, _ = _world(session, settings, clock)
    rows = client.get("/api/v1/home-visits", headers=f.staff_token(client, worker)).json()
    assert [r["id"] for r in rows] == [task_id]
    row = rows[0]
    assert row["address"] == "威海市环翠区环翠楼街道环翠楼东山社区"
    assert row["phone"] == "13800000001" and row["family_phone"] == "13900000002"
    assert row["reason"] == "help_request" and row["due_date"] == "2026-06-17"
    assert row["national_id_masked"].count("*") == 8
    assert client.get("/api/v1/home-visits", headers=f.staff_token(client, elsewhere)).json() == []


def test_form_pdf_opens_with_name_and_id(client, session, settings, clock) -> None:
    p, task_id, worker, elsewhere, _ = _world(session, settings, clock)
    resp = client.get(f"/api/v1/home-visits/{task_id}/form.pdf", headers=f.staff_token(client, worker))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(resp.content)).pages[0].extract_text()
    assert "离退休人员领取养老金资格协助认证表" in text and "异地居住" not in text  # lives where paid: local
    assert p.name in text and p.national_id in text and "环翠楼东山社区" in text
    other = client.get(f"/api/v1/home-visits/{task_id}/form.pdf", headers=f.staff_token(client, elsewhere))
    assert other.status_code == 404


def test_offline_retries_make_exactly_one_visit(client, session, settings, clock) -> None:
    _p, task_id, worker, _, _ = _world(session, settings, clock)
    hdr = f.staff_token(client, worker)
    data = {"outcome": "not_at_home", "visited_at": "2026-06-10T08:30:00", **IN_CITY}
    first = _post(client, task_id, hdr, "visit-abc", data)
    assert first.status_code == 201, first.text
    for _ in range(3):
        again = _post(client, task_id, hdr, "visit-abc", data)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(session, HomeVisit) == 1
    assert first.json()["task_status"] == "open" and first.json()["task_due_date"] == "2026-06-13"
    # Same key, different content: refused, nothing written.
    changed = _post(client, task_id, hdr, "visit-abc", {**data, "outcome": "hospitalised"})
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    assert count(session, HomeVisit) == 1


def test_bad_input_is_refused_and_nothing_is_written(client, session, settings, clock) -> None:
    _p, task_id, worker, elsewhere, _ = _world(session, settings, clock)
    hdr = f.staff_token(client, worker)
    resp = _post(client, task_id, f.staff_token(client, elsewhere), "k1", {"outcome": "not_at_home", **IN_CITY})
    assert resp.status_code == 404 and resp.json()["code"] == "task_not_found"
    resp = _post(
        client, task_id, hdr, "k2", {"outcome": "not_at_home", **IN_CITY}, {"form_scan": ("f.docx", b"PK\x03\x04xx")}
    )
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_form_scan"
    resp = _post(client, task_id, hdr, "k3", {"outcome": "not_at_home", "latitude": "137.5", "longitude": "122.1"})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_gps"
    resp = _post(client, task_id, hdr, "k4", {"outcome": "flew_away", **IN_CITY})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_outcome"
    resp = _post(client, task_id, hdr, "k5", {"outcome": "certified", **IN_CITY})
    assert resp.status_code == 422 and resp.json()["code"] == "photo_required"
    resp = client.post(f"/api/v1/home-visits/{task_id}/visits", data={"outcome": "refused"}, headers=hdr)
    assert resp.status_code == 422 and resp.json()["code"] == "idempotency_key_required"
    assert count(session, HomeVisit) == 0 and count(session, IdempotencyRecord) == 0


def test_deceased_holds_the_pension_and_stops_reminders_until_approved(client, session, settings, clock) -> None:
    p, task_id, worker, _, supervisor = _world(session, settings, clock)
    session.add(
        Notification(
            pensioner_id=p.id, phone="13800000001", kind="reminder_d14", season_year=2026, body_zh="x", body_en="x"
        )
    )
    session.commit()
    hdr = f.staff_token(client, worker)
    data = {"outcome": "deceased", "death_date": "2026-06-02", **IN_CITY}
    files = {
        "form_scan": ("scan.pdf", PDF, "application/pdf"),
        "death_certificate": ("certificate.pdf", PDF, "application/pdf"),
    }
    resp = _post(client, task_id, hdr, "dead-1", data, files)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["task_status"] == "done" and body["effect"]["pension_on_hold"] is True and body["needs_review"]
    session.expire_all()
    person = session.get(Pensioner, p.id)
    assert person.pension_status == "on_hold" and person.death_date is None
    assert session.scalar(select(Notification.status).where(Notification.kind == "reminder_d14")) == "cancelled"
    assert session.scalar(select(HomeVisit.form_scan_sha256)) is not None
    session.commit()
    assert count(session, AuditEvent, AuditEvent.action == "pension.terminated") == 0
    sup = f.staff_token(client, supervisor)
    session.commit()
    ok = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert ok.status_code == 200, ok.text
    session.expire_all()
    person = session.get(Pensioner, p.id)
    assert person.pension_status == "terminated" and person.death_date == date(2026, 6, 2)
    session.commit()
    assert count(session, AuditEvent, AuditEvent.action == "pension.terminated") == 1


def test_moved_within_city_follows_the_new_community(client, session, settings, clock) -> None:
    p, task_id, worker, _, _ = _world(session, settings, clock)
    new_worker = f.staff(session, role="field", region="371002002001")
    session.commit()
    hdr = f.staff_token(client, worker)
    resp = _post(client, task_id, hdr, "mv-1", {"outcome": "moved", "new_region_code": "371002002001", **IN_CITY})
    assert resp.status_code == 201, resp.text
    assert resp.json()["effect"]["reassigned_to"] == new_worker.id and resp.json()["task_status"] == "open"
    session.expire_all()
    person = session.get(Pensioner, p.id)
    assert (person.region_code, person.town_code) == ("371002002001", "371002002000")
    session.commit()


def test_moved_out_of_city_is_reviewed_then_tells_the_paying_region(client, session, settings, clock) -> None:
    _p, task_id, worker, _, supervisor = _world(session, settings, clock)
    hdr = f.staff_token(client, worker)
    resp = _post(client, task_id, hdr, "mv-2", {"outcome": "moved", "new_region_code": "110105000000", **IN_CITY})
    assert resp.status_code == 201, resp.text
    assert resp.json()["task_status"] == "done" and resp.json()["review_reasons"] == ["moved_out_of_city"]
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.paying_region_notified") == 0
    sup = f.staff_token(client, supervisor)
    session.commit()  # the token read the (expired) staff row; end that read
    ok = client.post(f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert ok.status_code == 200 and ok.json()["task_status"] == "cancelled", ok.text
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.paying_region_notified") == 1


def test_refused_and_far_gps_go_to_supervisor_review(client, session, settings, clock) -> None:
    _p, task_id, worker, _, supervisor = _world(session, settings, clock)
    hdr = f.staff_token(client, worker)
    resp = _post(client, task_id, hdr, "rf-1", {"outcome": "refused", "latitude": "39.9", "longitude": "116.4"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["needs_review"] is True
    assert set(resp.json()["review_reasons"]) == {"gps_outside_city", "refused"}
    sup = f.staff_token(client, supervisor)
    queue = client.get("/api/v1/home-visits/review", headers=sup).json()
    assert [q["visit"]["id"] for q in queue] == [resp.json()["id"]]
    assert client.get("/api/v1/home-visits/review", headers=hdr).status_code == 403
    done = client.post(f"/api/v1/home-visits/{resp.json()['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert done.status_code == 200 and done.json()["needs_review"] is False
    assert client.get("/api/v1/home-visits/review", headers=sup).json() == []


def test_help_requests_from_the_app_and_by_phone(client, session, settings, clock) -> None:
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 5, 1, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    counter = f.staff(session, role="counter", region=f.HUANCUI)
    p = f.pensioner(session)
    q = f.pensioner(session, phone="13800000009")
    session.commit()
    q_id, worker_id = q.id, worker.id
    staff_hdr = f.staff_token(client, counter)
    me = f.pensioner_token(client, session, p)
    first = client.post("/api/v1/me/home-visit-request", json={"note": "腿脚不便"}, headers=me)
    assert first.status_code == 200, first.text
    second = client.post("/api/v1/me/home-visit-request", headers=me)
    assert second.json()["task_id"] == first.json()["task_id"]
    by_phone = client.post(f"/api/v1/pensioners/{q_id}/home-visit-request", headers=staff_hdr)
    assert by_phone.status_code == 200, by_phone.text
    assert count(session, HomeVisitTask, HomeVisitTask.assigned_staff_id == worker_id) == 2
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.requested") == 2


def test_supervisor_reassigns(client, session, settings, clock) -> None:
    _p, task_id, _worker, elsewhere, supervisor = _world(session, settings, clock)
    other = f.staff(session, role="field", region=f.HUANCUI)
    session.commit()
    sup = f.staff_token(client, supervisor)
    bad = client.post(f"/api/v1/home-visits/{task_id}/assign", json={"staff_id": elsewhere.id}, headers=sup)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_assignee"
    ok = client.post(f"/api/v1/home-visits/{task_id}/assign", json={"staff_id": other.id}, headers=sup)
    assert ok.status_code == 200 and ok.json()["assigned_staff_id"] == other.id
    assert count(session, Certification) == 0


def test_gps_is_checked_against_the_community_centre(client, session, settings, clock) -> None:
    _p, task_id, worker, _, _ = _world(session, settings, clock)
    community = session.get(Region, f.HUANCUI_COMMUNITY)
    lat, lon = community.latitude, community.longitude
    session.commit()
    assert lat is not None and lon is not None
    hdr = f.staff_token(client, worker)
    # 0.05° of latitude is about 5.6 km: inside the city, but far from the pensioner's community.
    far = _post(
        client, task_id, hdr, "far-1", {"outcome": "not_at_home", "latitude": str(lat + 0.05), "longitude": str(lon)}
    )
    assert far.status_code == 201, far.text
    assert far.json()["review_reasons"] == ["gps_far_from_address"]
    clock.now = clock.now + timedelta(hours=2)  # a later visit, not the same one sent again (visits.find_duplicate)
    hdr = f.staff_token(client, worker)
    near = _post(
        client, task_id, hdr, "near-1", {"outcome": "not_at_home", "latitude": str(lat + 0.005), "longitude": str(lon)}
    )
    assert near.status_code == 201 and near.json()["needs_review"] is False
