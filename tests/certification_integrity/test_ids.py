"""Issue 14, item 3: ids of money-relevant rows are never given twice, and a withdrawn certification stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import (
    Certification,
    Evidence,
    HomeVisit,
    HomeVisitTask,
    Pensioner,
    PensionHold,
    Reinstatement,
    ResidenceTransfer,
    StaffUser,
    Suspension,
)
from tests import factories as f
from tests.certification_integrity.helpers import at, counter_body, token, world

NOW = datetime(2026, 6, 10, 2, tzinfo=UTC)


def _visit(session: Session, p: Pensioner, staff: StaffUser) -> HomeVisit:
    task = session.scalar(select(HomeVisitTask).where(HomeVisitTask.pensioner_id == p.id))
    if task is None:
        task = HomeVisitTask(pensioner_id=p.id, season_year=2026, reason="help_request", due_date=date(2026, 6, 17))
        session.add(task)
        session.flush()
    return HomeVisit(task_id=task.id, staff_id=staff.id, outcome="refused")


ROWS: dict[str, Callable[[Session, Pensioner, StaffUser], Any]] = {
    "certification": lambda s, p, st: Certification(pensioner_id=p.id, season_year=2026, channel="counter"),
    "suspension": lambda s, p, st: Suspension(pensioner_id=p.id, season_year=2026, effective_date=date(2026, 8, 1)),
    "home_visit": _visit,
    "evidence": lambda s, p, st: Evidence(
        pensioner_id=p.id, kind="visit_photo", content_type="image/png", data=b"x", key_id="plain"
    ),
    "reinstatement": lambda s, p, st: Reinstatement(
        pensioner_id=p.id,
        suspension_id=1,
        season_year=2026,
        kind="reinstatement",
        recorded_at=NOW,
        suspended_from=date(2026, 8, 1),
        effective_date=date(2026, 12, 1),
        back_pay_months=4,
    ),
    "pension_hold": lambda s, p, st: PensionHold(
        pensioner_id=p.id,
        reason="reported_deceased",
        previous_status="active",
        effective_date=date(2026, 7, 1),
        held_at=NOW,
    ),
    "residence_transfer": lambda s, p, st: ResidenceTransfer(
        pensioner_id=p.id, from_region_code=p.region_code, reported_at=NOW, status="pending"
    ),
}


@pytest.mark.parametrize("table", sorted(ROWS))
def test_the_id_of_a_deleted_row_is_never_given_again(session: Session, table: str) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    staff = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    first = ROWS[table](session, p, staff)
    session.add(first)
    session.flush()
    first_id = first.id
    # Rows like these are withdrawn, never deleted; a deleted one (by hand, or by a bug) must not lend its id.
    session.execute(delete(type(first)).where(type(first).id == first_id))
    second = ROWS[table](session, p, staff)
    session.add(second)
    session.flush()
    assert second.id > first_id
    session.rollback()


def test_a_withdrawn_certification_keeps_its_id(client, session, settings, clock) -> None:
    w = world(session, settings, clock)
    other = f.pensioner(session, name="李桂兰", phone="13800000077")
    session.commit()
    counter = token(client, session, w.counter)
    first = client.post(
        "/api/v1/certifications/counter",
        json=counter_body(session, w.pensioner.national_id, clock.now),
        headers=counter | {"Idempotency-Key": "a"},
    )
    assert first.status_code == 200, first.text
    cert_id = first.json()["id"]
    sup = token(client, session, w.supervisor)
    resp = client.post(f"/api/v1/certifications/{cert_id}/withdraw", json={"reason": "非本人办理"}, headers=sup)
    assert resp.status_code == 200, resp.text
    clock.now = at(2026, 6, 11)
    counter = token(client, session, w.counter)
    second = client.post(
        "/api/v1/certifications/counter",
        json=counter_body(session, other.national_id, clock.now),
        headers=counter | {"Idempotency-Key": "b"},
    )
    assert second.status_code == 200, second.text
    assert second.json()["id"] != cert_id
    kept = session.get(Certification, cert_id)
    assert kept is not None and kept.pensioner_id == w.pensioner.id and kept.withdrawn_at is not None
    session.commit()
