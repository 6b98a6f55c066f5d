"""What the field page relies on: house address and target, published outcomes, bad input kept for review."""

from __future__ import annotations

from datetime import timedelta

from models import HomeVisit, HomeVisitTask, IdempotencyRecord, Region
from tests import factories as f
from tests.home_visit.helpers import PDF, at, count, open_task, season

# About 3.3 km north of the demo community's centre: a big village's house, honestly visited.
HOUSE = {"address_street": "东山路", "address_house": "88号3单元201室", "address_landmark": "东山邮局对面"}


def _world(session, settings, clock, **pensioner):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    p = f.pensioner(session, name="王秀英", limited_mobility=True, **pensioner)
    task = open_task(session, settings, p, clock.now)
    session.commit()
    return p, task.id, worker, supervisor


def _post(client, task_id, hdr, key, data, files=None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/home-visits/{task_id}/visits", data=data, files=files or {}, headers={**hdr, "Idempotency-Key": key}
    )


def _community(session) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    region = session.get(Region, f.HUANCUI_COMMUNITY)
    lat, lon = region.latitude, region.longitude
    session.commit()
    return lat, lon


def test_task_gives_street_house_landmark_and_the_house_position(client, session, settings, clock) -> None:
    p, _task_id, worker, _ = _world(session, settings, clock, **HOUSE)
    lat, lon = _community(session)
    row = client.get("/api/v1/home-visits", headers=f.staff_token(client, worker)).json()[0]
    assert (row["address_street"], row["address_house"], row["address_landmark"]) == tuple(HOUSE.values())
    assert row["phone"] == "13800000001" and row["family_phone"] == "13900000002"
    # No house position yet: the community's is the target.
    assert (row["target_latitude"], row["target_longitude"], row["target_source"]) == (lat, lon, "community")
    session.get(type(p), p.id).address_latitude = lat + 0.03
    session.get(type(p), p.id).address_longitude = lon
    session.commit()
    row = client.get("/api/v1/home-visits", headers=f.staff_token(client, worker)).json()[0]
    assert (row["target_latitude"], row["target_source"]) == (lat + 0.03, "house")


def test_honest_visit_at_the_house_is_not_far_from_address(client, session, settings, clock) -> None:
    p, task_id, worker, _ = _world(session, settings, clock)
    lat, lon = _community(session)
    pensioner = session.get(type(p), p.id)
    pensioner.address_latitude, pensioner.address_longitude = lat + 0.03, lon  # the house, 3.3 km from the centre
    session.commit()
    at_house = {"outcome": "not_at_home", "latitude": str(lat + 0.0301), "longitude": str(lon)}
    resp = _post(client, task_id, f.staff_token(client, worker), "house-1", at_house)
    assert resp.status_code == 201, resp.text
    assert resp.json()["needs_review"] is False  # before: gps_far_from_address (compared with the centre)


def test_limited_mobility_reason_is_labelled(client, session, settings, clock) -> None:
    f.seed_regions(session)
    season(session, settings)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    p = f.pensioner(session, limited_mobility=True)
    session.add(
        HomeVisitTask(
            pensioner_id=p.id,
            season_year=2026,
            reason="limited_mobility",
            status="open",
            due_date=at(2026, 6, 17).date(),
            assigned_staff_id=worker.id,
        )
    )
    session.commit()
    clock.now = at(2026, 6, 10)
    row = client.get("/api/v1/home-visits", headers=f.staff_token(client, worker)).json()[0]
    assert row["reason"] == "limited_mobility" and row["reason_label"] == "行动不便"


def test_outcomes_are_published(client, session, settings, clock) -> None:
    _p, _task_id, worker, _ = _world(session, settings, clock)
    listed = client.get("/api/v1/home-visits/outcomes", headers=f.staff_token(client, worker)).json()
    values = [o["value"] for o in listed]
    assert values == ["certified", "deceased", "not_at_home", "hospitalised", "moved", "refused"]
    assert listed[0]["label"] == "本人健在，认证通过" and listed[0]["needs_photo"] is True
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["VisitOutcome"]["enum"] == values
    form = next(s for name, s in schema["components"]["schemas"].items() if name.startswith("Body_record_visit"))
    assert form["properties"]["outcome"]["enum"] == values
    assert set(form["properties"]["position_missing_reason"]["enum"]) >= {"denied", "inaccurate"}


def test_gps_denied_is_recorded_with_its_reason_and_reviewed(client, session, settings, clock) -> None:
    _p, task_id, worker, _ = _world(session, settings, clock)
    resp = _post(
        client,
        task_id,
        f.staff_token(client, worker),
        "denied-1",
        {"outcome": "refused", "position_missing_reason": "denied", "note": "定位被拒绝"},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["needs_review"] is True and "gps_missing" in body["review_reasons"]
    assert body["position_missing_reason"] == "denied"
    bad = _post(
        client,
        task_id,
        f.staff_token(client, worker),
        "denied-2",
        {"outcome": "not_at_home", "position_missing_reason": "aliens"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_missing_reason"


def test_inaccurate_fix_goes_to_review(client, session, settings, clock) -> None:
    _p, task_id, worker, _ = _world(session, settings, clock)
    lat, lon = _community(session)
    fix = {"outcome": "not_at_home", "latitude": str(lat), "longitude": str(lon)}
    resp = _post(client, task_id, f.staff_token(client, worker), "acc-1", {**fix, "position_accuracy_m": "850"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["review_reasons"] == ["gps_inaccurate"] and resp.json()["position_accuracy_m"] == 850


def test_camera_denied_certification_waits_for_the_supervisor(client, session, settings, clock) -> None:
    _p, task_id, worker, supervisor = _world(session, settings, clock)
    lat, lon = _community(session)
    data = {
        "outcome": "certified",
        "latitude": str(lat),
        "longitude": str(lon),
        "photo_missing_reason": "camera_denied",
    }
    resp = _post(client, task_id, f.staff_token(client, worker), "cam-1", data)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["review_reasons"] == ["photo_missing", "form_scan_missing"]
    assert body["effect"] == {"awaiting_review": "photo_missing"} and body["photo_missing_reason"] == "camera_denied"
    queue = client.get("/api/v1/home-visits/review", headers=f.staff_token(client, supervisor)).json()
    assert [q["visit"]["id"] for q in queue] == [body["id"]]
    # Without a reason, a certification still needs its photo.
    session.rollback()


def test_same_visit_from_two_devices_is_one_record_and_the_second_is_told(client, session, settings, clock) -> None:
    _p, task_id, worker, _ = _world(session, settings, clock)
    lat, lon = _community(session)
    visit = {"outcome": "not_at_home", "visited_at": "2026-06-10T08:30:00", "latitude": str(lat), "longitude": str(lon)}
    hdr = f.staff_token(client, worker)
    phone = _post(client, task_id, hdr, "phone-key", visit)
    assert phone.status_code == 201, phone.text
    # The tablet recorded the same visit a few minutes later, offline, with its own key.
    tablet = _post(client, task_id, hdr, "tablet-key", {**visit, "visited_at": "2026-06-10T08:41:00"})
    assert tablet.status_code == 409 and tablet.json()["code"] == "visit_already_recorded"
    assert tablet.json()["detail"]["visit_id"] == phone.json()["id"]
    assert count(session, HomeVisit) == 1
    # A closed task: the second device is told the visit exists, not just "closed".
    clock.now = clock.now + timedelta(hours=3)
    hdr = f.staff_token(client, worker)
    files = {
        "photo": ("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20, "image/png"),
        "form_scan": ("f.pdf", PDF, "application/pdf"),
    }
    later = {"outcome": "refused", "latitude": str(lat), "longitude": str(lon)}
    first = _post(client, task_id, hdr, "phone-2", later)
    assert first.status_code == 201 and first.json()["task_status"] == "done"
    second = _post(client, task_id, hdr, "tablet-2", later, files)
    assert second.status_code == 409 and second.json()["code"] == "visit_already_recorded"
    session.rollback()  # end the read snapshot taken when the worker's name was read for the token
    assert count(session, HomeVisit) == 2
    assert count(session, IdempotencyRecord) == 2, count(session, IdempotencyRecord)


def test_demo_fills_the_address(session) -> None:
    from datetime import date

    from cli.demo import build_demo
    from models import Pensioner

    build_demo(session=session, pensioners=50, today=date(2026, 5, 1))
    people = session.query(Pensioner).all()
    assert all(p.address_street and p.address_house and p.address_landmark for p in people)
    located = [p for p in people if p.address_latitude is not None]
    assert 0 < len(located) < len(people)  # most houses located, the rest fall back to the community


def test_field_page_is_served_with_a_strict_csp_and_no_inline_code(client) -> None:
    import re
    from pathlib import Path

    page = client.get("/staff/field/")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None  # every script is a file
    assert " style=" not in page.text and "<style" not in page.text
    assert client.get("/staff/field", follow_redirects=False).headers["location"] == "/staff/field/"
    sw = client.get("/staff/field/sw.js")
    assert sw.headers["service-worker-allowed"] == "/staff/field/" and "javascript" in sw.headers["content-type"]
    assert client.get("/staff/field/app.js").status_code == 200
    assert client.get("/staff/field/../app.py").status_code == 404
    assert client.get("/staff/field/missing.js").status_code == 404
    folder = Path(__file__).resolve().parents[2] / "api" / "static" / "field"
    for path in folder.iterdir():
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path.name  # no CDN, no outside calls
