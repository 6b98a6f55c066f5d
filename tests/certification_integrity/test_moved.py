"""Issue 14, item 5: a move out of the city is a transfer for the paying region, reviewed; within the city it moves."""

from __future__ import annotations

from sqlalchemy import select

from certification import exports
from models import AuditEvent, HomeVisitTask, Pensioner, ResidenceTransfer
from tests import factories as f
from tests.certification_integrity.helpers import IN_CITY, add_city, post_visit, token, with_task, world
from tests.home_visit.helpers import count


def _moved_away(client, session, settings, clock):  # type: ignore[no-untyped-def]
    w = world(session, settings, clock)
    yantai = add_city(session)
    yantai_worker = f.staff(session, role="field", region=yantai)
    session.commit()
    with_task(session, settings, w, clock.now)
    hdr = token(client, session, w.worker)
    resp = post_visit(client, w.task_id, hdr, "mv-1", {"outcome": "moved", "new_region_code": yantai, **IN_CITY})
    assert resp.status_code == 201, resp.text
    return w, yantai, yantai_worker, resp.json()


def test_a_move_to_another_city_is_recorded_as_a_transfer_and_reviewed(client, session, settings, clock) -> None:
    w, yantai, yantai_worker, body = _moved_away(client, session, settings, clock)
    assert body["needs_review"] is True and body["review_reasons"] == ["moved_out_of_city"]
    session.expire_all()
    person = session.get(Pensioner, w.pensioner.id)
    task = session.get(HomeVisitTask, w.task_id)
    assert person is not None and task is not None
    assert (person.region_code, person.city_code) == (f.HUANCUI_COMMUNITY, f.CITY)  # not moved silently
    assert task.assigned_staff_id != yantai_worker.id
    transfer = session.scalar(select(ResidenceTransfer))
    assert transfer is not None and transfer.status == "pending"
    assert (transfer.from_region_code, transfer.to_region_code, transfer.paying_region_code) == (
        f.HUANCUI_COMMUNITY,
        yantai,
        f.CITY,
    )
    assert transfer.home_visit_id == body["id"] and transfer.reported_by_staff_id == w.worker.id
    session.commit()
    sup = token(client, session, w.supervisor)
    ok = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "accepted"}, headers=sup)
    assert ok.status_code == 200, ok.text
    assert ok.json()["task_status"] == "cancelled"
    session.expire_all()
    rows = [dict(zip(exports.TRANSFER_COLUMNS, r, strict=True)) for r in exports.transfer_rows(session=session)]
    session.commit()
    assert [(r["national_id"], r["to_region_code"], r["status"]) for r in rows] == [
        (w.pensioner.national_id, yantai, "confirmed")
    ]
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.paying_region_notified") == 1


def test_a_rejected_transfer_reopens_the_task(client, session, settings, clock) -> None:
    w, _yantai, _worker, body = _moved_away(client, session, settings, clock)
    sup = token(client, session, w.supervisor)
    no = client.post(f"/api/v1/home-visits/{body['id']}/review", json={"decision": "rejected"}, headers=sup)
    assert no.status_code == 200, no.text
    assert no.json()["task_status"] == "open"
    assert count(session, ResidenceTransfer, ResidenceTransfer.status == "rejected") == 1
    assert count(session, Pensioner, Pensioner.region_code == f.HUANCUI_COMMUNITY) == 1


def test_a_move_within_the_city_changes_the_residence_without_review(client, session, settings, clock) -> None:
    w = world(session, settings, clock)
    new_worker = f.staff(session, role="field", region="371003001001")  # Wendeng, same city
    session.commit()
    with_task(session, settings, w, clock.now)
    hdr = token(client, session, w.worker)
    resp = post_visit(
        client, w.task_id, hdr, "mv-2", {"outcome": "moved", "new_region_code": "371003001001", **IN_CITY}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["needs_review"] is False and resp.json()["effect"]["reassigned_to"] == new_worker.id
    assert count(session, ResidenceTransfer) == 0
    assert count(session, Pensioner, Pensioner.region_code == "371003001001", Pensioner.district_code == f.WENDENG) == 1
