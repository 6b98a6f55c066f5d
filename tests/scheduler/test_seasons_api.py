"""Season validation, counter certification idempotency, the pensioner's status, exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from certification import exports, seasons
from certification import service as certification
from core.errors import Conflict, InvalidInput
from core.settings import Settings
from models import AuditEvent, Certification, HomeVisitTask
from tests import factories
from tests.scheduler.helpers import at, run


def test_season_defaults_and_validation(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    s = seasons.create_season(session=session, settings=settings, year=2026)
    assert (s.open_date, s.close_date, s.grace_days, s.suspend_from_date) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
        15,
        date(2026, 8, 1),
    )
    with pytest.raises(InvalidInput) as bad:
        seasons.create_season(
            session=session, settings=settings, year=2027, open_date=date(2027, 6, 1), close_date=date(2027, 5, 1)
        )
    assert bad.value.code == "season_close_before_open"
    with pytest.raises(InvalidInput) as elsewhere:  # reported: year 2028 opening 2030-04-01 was created
        seasons.create_season(
            session=session, settings=settings, year=2028, open_date=date(2030, 4, 1), close_date=date(2030, 6, 30)
        )
    assert elsewhere.value.code == "season_open_outside_year"
    with pytest.raises(Conflict) as dup:
        seasons.create_season(session=session, settings=settings, year=2026)
    assert dup.value.code == "season_exists"
    seasons.create_season(
        session=session, settings=settings, year=2029, open_date=date(2029, 10, 1), close_date=date(2029, 12, 20)
    )  # suspensions from 1 February 2030
    with pytest.raises(Conflict) as overlap:
        seasons.create_season(
            session=session, settings=settings, year=2030, open_date=date(2030, 1, 15), close_date=date(2030, 6, 30)
        )
    assert overlap.value.code == "season_overlap"
    with pytest.raises(InvalidInput):
        seasons.extend_window(session=session, year=2026, region_code=factories.HUANCUI, close_date=date(2026, 3, 1))
    w = seasons.extend_window(session=session, year=2026, region_code=factories.HUANCUI, close_date=date(2026, 7, 31))
    assert w.suspend_from_date == date(2026, 9, 1)
    p = factories.pensioner(session)
    assert seasons.window_for(session=session, season=s, pensioner=p).close_date == date(2026, 7, 31)
    seasons.extend_window(
        session=session, year=2026, region_code=factories.HUANCUI_COMMUNITY, close_date=date(2026, 7, 10)
    )
    assert seasons.window_for(session=session, season=s, pensioner=p).close_date == date(2026, 7, 10)  # most specific
    session.rollback()


def test_season_api(session: Session, client: TestClient) -> None:
    factories.seed_regions(session)
    admin = factories.staff(session)
    counter = factories.staff(session, role="counter")
    session.commit()
    h = factories.staff_token(client, admin)
    r = client.post("/api/v1/admin/seasons", json={"year": 2026}, headers=h)
    assert r.status_code == 201 and r.json()["suspend_from_date"] == "2026-08-01"
    assert client.post("/api/v1/admin/seasons", json={"year": 2026}, headers=h).json()["code"] == "season_exists"
    r = client.post(
        "/api/v1/admin/seasons", json={"year": 2027, "open_date": "2027-06-01", "close_date": "2027-04-01"}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "season_close_before_open" and r.json()["message"]
    r = client.put(
        "/api/v1/admin/seasons/2026/windows",
        json={"region_code": factories.HUANCUI, "close_date": "2026-07-31"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["suspend_from_date"] == "2026-09-01"
    hc = factories.staff_token(client, counter)
    assert client.post("/api/v1/admin/seasons", json={"year": 2028}, headers=hc).status_code == 403
    assert [s["year"] for s in client.get("/api/v1/admin/seasons", headers=h).json()] == [2026]


def test_counter_certification_is_idempotent(
    session: Session, client: TestClient, clock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    counter = factories.staff(session, role="counter", region=factories.WENDENG)  # another district, same city
    p = factories.pensioner(session)
    session.add(HomeVisitTask(pensioner_id=p.id, season_year=2026, reason="bedridden", due_date=date(2026, 6, 1)))
    clock.now = at(2026, 5, 6, 10)
    check = factories.counter_face_check(session, p.id, at=clock.now, staff_id=counter.id)
    session.commit()
    h = factories.staff_token(client, counter)
    body = {"national_id": p.national_id, "attempt_id": check}
    r1 = client.post("/api/v1/certifications/counter", json=body, headers={**h, "Idempotency-Key": "k-1"})
    assert r1.status_code == 200, r1.text
    assert r1.json()["channel"] == "counter" and r1.json()["office_region_code"] == factories.WENDENG
    assert r1.json()["attempt_id"] == check and r1.json()["already_certified"] is False
    r2 = client.post("/api/v1/certifications/counter", json=body, headers={**h, "Idempotency-Key": "k-1"})
    assert r2.json() == r1.json() and r2.headers.get("Idempotent-Replayed") == "true"
    r3 = client.post("/api/v1/certifications/counter", json=body, headers={**h, "Idempotency-Key": "k-2"})
    assert r3.json()["id"] == r1.json()["id"]  # a second certification returns the first, and says so
    assert r3.json()["already_certified"] is True and "已完成认证" in r3.json()["message"]
    assert client.post("/api/v1/certifications/counter", json=body, headers=h).status_code == 422  # no key
    r = client.post(
        "/api/v1/certifications/counter",
        json={"national_id": "110101195001010011"},
        headers={**h, "Idempotency-Key": "k-3"},
    )
    assert r.status_code == 404
    assert session.scalar(select(func.count()).select_from(Certification)) == 1
    task = session.scalar(select(HomeVisitTask))
    assert task is not None and task.status == "cancelled" and task.close_reason == "certified_other_channel"
    assert session.scalar(select(func.count()).where(AuditEvent.action == "certification.recorded")) == 1
    session.commit()


def test_me_certification(session: Session, client: TestClient, clock, settings: Settings) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    p = factories.pensioner(session)
    session.commit()
    clock.now = at(2026, 6, 20, 23, 30)  # 20 June late evening in Beijing, still 20 June locally
    h = factories.pensioner_token(client, session, p)
    body = client.get("/api/v1/me/certification", headers=h).json()
    assert body["status"] == "pending" and body["deadline"] == "2026-06-30" and body["days_left"] == 10
    assert "2026年06月30日" in body["message"] and body["message_en"]
    with session.begin():
        certification.record_certification(
            session=session, pensioner_id=p.id, channel="app", now=clock.now, settings=settings
        )
    body = client.get("/api/v1/me/certification", headers=h).json()
    assert body["status"] == "certified" and body["channel"] == "app" and body["certified_at"]


def test_me_certification_suspended(
    session: Session, client: TestClient, clock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    p = factories.pensioner(session)
    session.commit()
    run(session_factory, settings, at(2026, 7, 20), "suspensions")
    clock.now = at(2026, 7, 21)
    h = factories.pensioner_token(client, session, p)
    body = client.get("/api/v1/me/certification", headers=h).json()
    assert body["status"] == "suspended" and "暂停" in body["message"]


def test_exports(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, database_url, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from cli import app
    from core.settings import get_settings

    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    a = factories.pensioner(session, name="张三")
    b = factories.pensioner(session, name="李四")
    session.commit()
    run(session_factory, settings, at(2026, 7, 20), "suspensions")
    with session_factory.begin() as s:
        certification.record_certification(
            session=s, pensioner_id=a.id, channel="counter", now=at(2026, 11, 3), settings=settings
        )
    rows = list(exports.suspension_rows(session=session, season_year=2026))
    assert sorted(r[1] for r in rows) == ["张三", "李四"] and {r[4] for r in rows} == {"2026-08"}
    rein = list(exports.reinstatement_rows(session=session, season_year=2026))
    assert [r[:8] for r in rein] == [
        [a.national_id, "张三", a.region_code, "2026", "2026-08", "2026-11", "3", "reinstatement"]
    ]
    session.commit()
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(app, ["export", "suspensions", "--season", "2026"])
        assert res.exit_code == 0, res.output
        parsed = list(csv.reader(io.StringIO(res.stdout)))
        assert parsed[0] == exports.SUSPENSION_COLUMNS and len(parsed) == 3
        res = runner.invoke(app, ["export", "reinstatements"])
        assert res.exit_code == 0 and b.national_id not in res.stdout and "2026-11,3" in res.stdout
        res = runner.invoke(app, ["run-sweeps", "--now", "2026-07-21T09:00:00+08:00", "--json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert {"reminders_queued", "suspended", "home_visit_tasks_created", "outbox_sent"} <= set(out)
        res = runner.invoke(
            app, ["season", "create", "--year", "2027", "--open", "2027-06-01", "--close", "2027-04-01"]
        )
        assert res.exit_code == 1 and "season_close_before_open" in res.output
    finally:
        get_settings.cache_clear()


def test_default_grace_is_zero_and_suspension_starts_the_next_month(session: Session, database_url: str) -> None:
    factories.seed_regions(session)
    s = seasons.create_season(session=session, settings=Settings(database_url=database_url), year=2027)
    assert (s.grace_days, s.close_date, s.suspend_from_date) == (0, date(2027, 6, 30), date(2027, 7, 1))
