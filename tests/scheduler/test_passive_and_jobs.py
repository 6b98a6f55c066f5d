"""Life-evidence and death imports (all or nothing), the scheduler's jobs, the HTTP SMS gateway."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from certification import passive, seasons
from core.errors import InvalidInput
from core.settings import Settings
from messaging.gateways import BatchError, GatewayError, HttpBatchGateway
from models import Certification, HomeVisitTask, LifeEvidence, Notification, Pensioner
from scheduler import jobs
from tests import factories
from tests.scheduler.helpers import at, run


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_life_evidence_import(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    a, b, c = (factories.pensioner(session, phone=f"1380000000{i}") for i in range(3))
    session.commit()
    now = at(2026, 5, 20)
    bad = _csv(
        "national_id,evidence_date,source",
        f"{a.national_id},2026-05-01,hospital",
        "110101195001010011,2026-05-01,hospital",
        f"{b.national_id},2026-06-01,bank_counter",
    )
    with pytest.raises(InvalidInput) as exc:
        passive.import_life_evidence(session=session, settings=settings, data=bad, now=now)
    assert [e["reason"] for e in exc.value.detail["errors"]] == ["unknown_national_id", "future_date"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(LifeEvidence)) == 0

    good = _csv(
        "身份证号,证据日期,来源",
        f"{a.national_id},2026-05-01,medical_insurance",
        f"{b.national_id},2026-03-01,hospital",  # before the window opened: stored, does not certify
        f"{c.national_id},2026-05-02,bank_counter",
    )
    strict = settings.model_copy(update={"life_evidence_sources": "medical_insurance,hospital"})
    result = passive.import_life_evidence(session=session, settings=strict, data=good, now=now)
    session.commit()
    assert (result.stored, result.certified, result.not_counted) == (3, 1, 2)
    cert = session.scalar(select(Certification).where(Certification.pensioner_id == a.id))
    assert cert is not None and cert.channel == "data_comparison" and cert.source == "medical_insurance"
    again = passive.import_life_evidence(session=session, settings=settings, data=good, now=now)  # every known source
    session.commit()
    assert (again.stored, again.certified, again.already_certified) == (0, 1, 1)


def test_deaths_import(session: Session, session_factory: sessionmaker[Session], settings: Settings) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    a = factories.pensioner(session, name="赵一")
    b = factories.pensioner(session, name="钱二")
    session.add(HomeVisitTask(pensioner_id=a.id, season_year=2026, reason="age_80", due_date=date(2026, 6, 1)))
    session.commit()
    run(session_factory, settings, at(2026, 4, 1, 22), "reminders")
    now = at(2026, 6, 10)
    with pytest.raises(InvalidInput) as exc:
        passive.import_deaths(
            session=session,
            settings=settings,
            data=_csv("national_id,death_date", f"{a.national_id},2026-03-15", f"{b.national_id},2026-07-01"),
            now=now,
        )
    assert exc.value.detail["errors"][0]["reason"] == "future_date"
    session.rollback()
    assert session.get(Pensioner, a.id).pension_status == "active"  # type: ignore[union-attr]
    session.commit()

    data = _csv("national_id,death_date", f"{a.national_id},2026-03-15")
    result = passive.import_deaths(session=session, settings=settings, data=data, now=now)
    session.commit()
    assert result.terminated == 1
    assert result.recoveries[0]["months"] == ["2026-04", "2026-05", "2026-06"]
    p = session.get(Pensioner, a.id)
    assert p is not None and p.pension_status == "terminated" and p.death_date == date(2026, 3, 15)
    statuses = set(session.scalars(select(Notification.status).where(Notification.pensioner_id == a.id)))
    task = session.scalar(select(HomeVisitTask))
    assert statuses == {"cancelled"} and task is not None and task.close_reason == "deceased"
    session.commit()
    again = passive.import_deaths(session=session, settings=settings, data=data, now=now)
    session.commit()
    assert (again.terminated, again.already_terminated) == (0, 1)
    assert run(session_factory, settings, at(2026, 7, 20), "suspensions")["suspended"] == 1  # only b


def test_scheduler_jobs_have_fixed_ids(tmp_path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    for _ in range(2):  # a restart replaces the jobs instead of duplicating them
        sched = jobs.build_scheduler(settings, kind="background", jobstore_url=url)
        sched.start(paused=True)
        ids = sorted(j.id for j in sched.get_jobs())
        job = sched.get_job("sweep:reminders")
        assert job is not None and job.coalesce and job.misfire_grace_time == settings.scheduler_misfire_grace_seconds
        notices = sched.get_job("sweep:suspension_notices")  # after the suspension sweep it reads
        start = settings.sweep_hour * 60 + settings.sweep_minute + 30
        assert f"hour='{start // 60}', minute='{start % 60}'" in str(notices.trigger), notices.trigger
        sched.shutdown(wait=False)
    assert ids == sorted(
        f"sweep:{n}"
        for n in (
            "home_visits",
            "reminders",
            "suspensions",
            "suspension_notices",
            "outbox",
            "purge_evidence",
            "purge_outbox",
            "risk_rollup",
        )
    )


def test_http_gateway_posts_batches_and_reads_per_message_answers() -> None:
    calls: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json={"results": [{"id": "5", "status": "accepted", "provider_id": "p5"}]})

    gw = HttpBatchGateway(
        url="https://sms.example/batch", token="t", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(BatchError):
        gw.send(phone="13800000001", body="您好", message_id=5)
    assert gw.send(phone="13800000001", body="您好", message_id=5) == "p5"
    assert calls[-1] == {"messages": [{"id": "5", "phone": "13800000001", "text": "您好"}]}
    bad = HttpBatchGateway(
        url="https://sms.example/batch",
        client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(400))),
    )
    with pytest.raises(GatewayError):
        bad.send(phone="1", body="x", message_id=1)


def test_life_evidence_sources_are_known_and_the_counts_add_up(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    a, b = (factories.pensioner(session, phone=f"1390000000{i}") for i in range(2))
    session.commit()
    now = at(2026, 5, 20)
    # Reported: `facebook` was accepted as a source.
    unknown = _csv("national_id,evidence_date,source", f"{a.national_id},2026-05-01,facebook")
    with pytest.raises(InvalidInput) as exc:
        passive.import_life_evidence(session=session, settings=settings, data=unknown, now=now)
    assert [e["reason"] for e in exc.value.detail["errors"]] == ["invalid_source"]
    session.rollback()
    # Reported: rows 2, stored 2, certified 1, already 0, not_counted 0 — one person's two rows.
    two_rows = _csv(
        "national_id,evidence_date,source",
        f"{a.national_id},2026-05-01,hospital",
        f"{a.national_id},2026-05-03,medical_insurance",
        f"{b.national_id},2026-02-01,hospital",  # before the window: stored, not counted
    )
    r = passive.import_life_evidence(session=session, settings=settings, data=two_rows, now=now)
    assert (r.rows, r.stored, r.duplicates) == (3, 3, 0)
    assert (r.people, r.certified, r.already_certified, r.not_counted, r.skipped_not_active) == (2, 1, 0, 1, 0)
    again = passive.import_life_evidence(session=session, settings=settings, data=two_rows, now=now)
    assert (again.rows, again.stored, again.duplicates) == (3, 0, 3)
    assert again.people == again.certified + again.already_certified + again.not_counted + again.skipped_not_active
