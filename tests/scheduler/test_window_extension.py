"""Extending a district's window after its people were suspended reinstates those now back inside it."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import seasons
from core.settings import Settings
from models import AuditEvent, Pensioner, Reinstatement, Suspension
from tests import factories
from tests.scheduler.helpers import at, run


def test_extending_after_suspension_reinstates_the_district(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, client: TestClient, clock
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026, grace_days=0)  # suspended from 1 July
    huancui = factories.pensioner(session, region=factories.HUANCUI_COMMUNITY)
    wendeng = [factories.pensioner(session, region=factories.WENDENG_COMMUNITY) for _ in range(3)]
    admin = factories.staff(session)
    session.commit()
    assert run(session_factory, settings, at(2026, 7, 1, 1), "suspensions")["suspended"] == 4
    clock.now = at(2026, 7, 3)
    resp = client.put(
        "/api/v1/admin/seasons/2026/windows",
        json={"region_code": factories.WENDENG, "close_date": "2026-07-31"},  # a flood closed the offices in June
        headers=factories.staff_token(client, admin),
    )
    assert resp.status_code == 200, resp.text
    # Reported: the district's suspended pensioners stayed suspended after the extension.
    assert resp.json()["suspend_from_date"] == "2026-08-01" and resp.json()["suspensions_lifted"] == 3
    session.expire_all()
    assert [session.get(Pensioner, p.id).pension_status for p in wendeng] == ["active"] * 3  # type: ignore[union-attr]
    assert session.get(Pensioner, huancui.id).pension_status == "suspended"  # type: ignore[union-attr]
    lifted = session.scalars(select(Suspension).where(Suspension.pensioner_id.in_([p.id for p in wendeng]))).all()
    assert {(s.reinstated_effective_date, s.back_pay_months) for s in lifted} == {(date(2026, 7, 1), 0)}
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "pension.suspensions_lifted")) is not None
    ledger = session.scalars(select(Reinstatement)).all()  # payroll's back-pay ledger has a row per lifted person
    assert sorted(r.pensioner_id for r in ledger) == sorted(p.id for p in wendeng)
    assert {(r.kind, r.back_pay_months) for r in ledger} == {("reinstatement", 0)}
    session.commit()
    # Still uncertified when the new date comes: suspended again, from the new date.
    assert run(session_factory, settings, at(2026, 8, 1, 1), "suspensions")["suspended"] == 3
    session.expire_all()
    assert [session.get(Pensioner, p.id).pension_status for p in wendeng] == ["suspended"] * 3  # type: ignore[union-attr]
    again = session.scalars(select(Suspension).where(Suspension.pensioner_id.in_([p.id for p in wendeng]))).all()
    assert {(s.effective_date, s.reinstated_at) for s in again} == {(date(2026, 8, 1), None)}
    session.commit()
