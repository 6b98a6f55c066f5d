"""The set-based imports do what the row-by-row ones did: same certifications, statuses, ledger, audit, rejections."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Date, func, literal, select
from sqlalchemy.orm import Session, sessionmaker

from certification import certify_many, lifecycle, passive, seasons
from certification import service as certification
from core.errors import InvalidInput
from core.settings import Settings
from models import (
    AuditEvent,
    Certification,
    HomeVisitTask,
    LifeEvidence,
    Notification,
    Pensioner,
    PensionHold,
    Reinstatement,
    Suspension,
)
from tests import factories as f
from tests.certification_integrity import legacy_passive
from tests.certification_integrity.helpers import at

NOW = at(2026, 10, 10)  # the season (1 April – 30 June) is past; oldest accepted evidence: 13 April
# Audited per person by the row-by-row import, once per run by the set-based one (issue 16 item 7): the run's
# `life_evidence.imported` event has the counts and each certification quotes the run (`import_run`).
PER_RUN_ACTIONS = ("certification.recorded", "certification.follow_ups_cancelled")


def _rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in session.execute(query))


def _snapshot(session: Session, audit_from: int) -> dict[str, Any]:
    """Everything an import may change, with generated ids replaced by what they stand for."""
    session.flush()
    session.expire_all()
    cert_owner = {cid: pid for cid, pid in session.execute(select(Certification.id, Certification.pensioner_id))}

    def plain(detail: dict[str, Any] | None) -> str:
        d = dict(detail or {})
        if d.get("certification_id") is not None:
            d["certification_id"] = f"of:{cert_owner[d['certification_id']]}"
        if "reinstatements" in d:
            d["reinstatements"] = [{k: v for k, v in e.items() if k != "entry_id"} for e in d["reinstatements"]]
        return repr(sorted(d.items()))

    events = list(
        session.execute(
            select(AuditEvent).where(AuditEvent.id > audit_from, AuditEvent.target_type != "import")
        ).scalars()
    )
    c, p, s, r = Certification, Pensioner, Suspension, Reinstatement
    return {
        "certifications": _rows(
            session,
            select(c.pensioner_id, c.season_year, c.channel, c.source, c.withdrawn_at, c.replaced_due_date),
        ),
        "evidence_json": sorted(repr(sorted((e or {}).items())) for e in session.scalars(select(c.evidence))),
        "pensioners": _rows(
            session, select(p.id, p.pension_status, p.status_since, p.death_date, p.certification_due_date)
        ),
        "suspensions": _rows(
            session,
            select(s.pensioner_id, s.season_year, s.effective_date, s.reinstated_effective_date, s.back_pay_months),
        ),
        "reinstated_at_set": _rows(session, select(s.pensioner_id, s.reinstated_at.is_not(None))),
        "ledger": sorted(
            (
                x.kind,
                x.pensioner_id,
                x.season_year,
                cert_owner.get(x.certification_id or 0),
                x.suspended_from,
                x.effective_date,
                x.back_pay_months,
                x.recorded_by_staff_id,
            )
            for x in session.scalars(select(r))
        ),
        "evidence": _rows(session, select(LifeEvidence.pensioner_id, LifeEvidence.evidence_date, LifeEvidence.source)),
        "notifications": _rows(  # by content: ids differ where PostgreSQL's ON CONFLICT skips sequence values
            session,
            select(
                Notification.pensioner_id,
                Notification.season_year,
                Notification.kind,
                Notification.recipient,
                Notification.status,
            ),
        ),
        "tasks": _rows(session, select(HomeVisitTask.id, HomeVisitTask.status, HomeVisitTask.close_reason)),
        "holds": _rows(session, select(PensionHold.id, PensionHold.decision, PensionHold.decided_by_staff_id)),
        "audit": Counter(
            (e.actor_type, e.actor_id, e.action, e.target_type, e.target_id, plain(e.detail))
            for e in events
            if e.action not in PER_RUN_ACTIONS
        ),
        "per_person": sorted(
            (e.action, int(e.target_id or 0), plain(e.detail)) for e in events if e.action in PER_RUN_ACTIONS
        ),
        "follow_ups": [(int(e.target_id or 0), e.detail or {}) for e in events if e.action == PER_RUN_ACTIONS[1]],
    }


def _both(session: Session, run: Any) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """Run the old path, snapshot, roll back, run the new path, snapshot."""
    audit_from = int(session.scalar(select(func.max(AuditEvent.id))) or 0)
    old = run(legacy_passive)
    before = _snapshot(session, audit_from)
    session.rollback()
    new = run(passive)
    after = _snapshot(session, audit_from)
    return old, new, before, after


def _per_run(session: Session, before: dict[str, Any], after: dict[str, Any], *, window: bool) -> dict[str, Any]:
    """Check the intended differences of the set-based import and return `before` with them applied.

    1. No per-person `certification.recorded` / `certification.follow_ups_cancelled` rows: the run's one event
       has the counts and every certification the old path audited quotes the run.
    2. Window policy: the certified people's pending reminders are not cancelled by the import; they stay
       pending for the sender's screen, which expires them unsent (`expired_certified`, tested in
       tests/messaging/test_stale_reminders.py). The rolling policy still cancels them.
    """
    run = session.scalars(select(AuditEvent).where(AuditEvent.action == "life_evidence.imported")).one()
    quoted = session.scalars(select(Certification.pensioner_id).where(Certification.import_run == run.target_id))
    recorded = [pid for action, pid, _ in before["per_person"] if action == PER_RUN_ACTIONS[0]]
    assert after["per_person"] == [] and sorted(quoted) == sorted(recorded)
    reminders = sum(d["reminders"] for _, d in before["follow_ups"])
    tasks = sum(d["home_visit_tasks"] for _, d in before["follow_ups"])
    assert (run.detail["reminders_cancelled"], run.detail["home_visit_tasks_cancelled"]) == (
        0 if window else reminders,
        tasks,
    )
    expected = {k: v for k, v in before.items() if k not in ("per_person", "follow_ups")}
    if window:  # each certified person's reminders of the season they were certified for: pending, not cancelled
        seasons_of = {(pid, d["season_year"]) for pid, d in before["follow_ups"] if d["reminders"]}
        expected["notifications"] = sorted(
            (pid, year, kind, recipient, "pending" if (pid, year) in seasons_of and status == "cancelled" else status)
            for pid, year, kind, recipient, status in before["notifications"]
        )
        assert expected["notifications"] != before["notifications"]
    return expected


def _without_per_person(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("per_person", "follow_ups")}


def _reminder(session: Session, p: Pensioner, year: int = 2026) -> None:
    session.add(
        Notification(
            pensioner_id=p.id, phone=p.phone or "13800000001", kind="reminder_due", season_year=year, recipient="self"
        )
    )


def _evidence_world(session: Session, settings: Settings) -> tuple[list[Pensioner], bytes]:
    """Every case a life-evidence row can meet, and a file touching each."""
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    # Wendeng's window runs to 30 September; newcomers there get 60 days from the day they were added.
    seasons.extend_window(session=session, year=2026, region_code=f.WENDENG, close_date=date(2026, 9, 30))
    ps = [f.pensioner(session, phone=f"1380000{i:04d}") for i in range(8)]
    ps += [f.pensioner(session, region=f.WENDENG_COMMUNITY, phone=f"1381000{i:04d}") for i in range(4)]
    ps[9].added_on, ps[10].added_on = date(2026, 9, 1), date(2026, 9, 20)  # both newcomers
    session.flush()
    suspended = [ps[1], ps[6], ps[7]]
    lifecycle.suspend_cohort(
        session=session,
        where=Pensioner.id.in_([p.id for p in suspended]),
        season_year=2026,
        effective_date=date(2026, 7, 1),
        now=at(2026, 7, 20),
    )
    session.expire_all()
    lifecycle.hold_on_reported_death(
        session=session,
        settings=settings,
        pensioner=ps[2],
        death_date=date(2026, 8, 1),
        now=at(2026, 8, 2),
        staff_id=worker.id,
        home_visit_id=None,
    )
    lifecycle.terminate_on_death(
        session=session,
        settings=settings,
        pensioner=ps[3],
        death_date=date(2026, 5, 1),
        now=at(2026, 8, 2),
        actor_id=None,
        source="deaths_import",
    )
    certification.record_certification(
        session=session, pensioner_id=ps[4].id, channel="counter", now=at(2026, 5, 5), settings=settings
    )
    for p in (ps[0], ps[6], ps[11]):
        _reminder(session, p)
    _reminder(session, ps[0], 2025)  # another season's reminder stays
    for p in (ps[6], ps[11]):
        session.add(HomeVisitTask(pensioner_id=p.id, season_year=2026, reason="age_80", due_date=date(2026, 9, 1)))
    session.add(LifeEvidence(pensioner_id=ps[0].id, evidence_date=date(2026, 5, 1), source="hospital", imported_at=NOW))
    session.commit()
    n = [p.national_id for p in ps]
    data = "\n".join(
        [
            "national_id,evidence_date,source",
            f"{n[0]},2026-05-01,hospital",  # stored before: a duplicate, still certifies
            f"{n[1]},2026/09/01,MEDICAL_INSURANCE",  # suspended: certified late, reinstated with back pay
            f"{n[2]},2026-09-01,hospital",  # on hold: skipped
            f"{n[3]},2026-09-01,hospital",  # terminated: skipped
            f"{n[4]},2026-09-01,bank_counter",  # certified at the counter already
            f"{n[5]},2026-03-01,hospital",  # before the window (and too old): not counted
            f"{n[6]},2026-09-02,bank_counter",  # tie on the date: the first row's source counts
            f"{n[6]},2026-09-02,hospital",
            f"{n[6]},2026-09-02,bank_counter",  # twice in the file: a duplicate
            f"{n[6]},2026-08-01,self_service_terminal",
            f"{n[7]},2026-04-01,hospital",  # suspended, evidence too old: not counted, stays suspended
            f"{n[8]},2026-09-15,self_service_terminal",  # source not accepted here: not counted
            f"{n[9]},2026-09-05,medical_insurance",  # newcomer (own window from 1 September): certified
            f"{n[10]},2026-09-10,medical_insurance",  # newcomer added 20 September: before their window
            f"{n[11]},2026-09-15,hospital",  # Wendeng's longer window: certified, reminders and visit cancelled
        ]
    )
    return ps, (data + "\n").encode()


def test_life_evidence_set_based_matches_row_by_row(session: Session, settings: Settings) -> None:
    ps, data = _evidence_world(session, settings)
    strict = settings.model_copy(update={"life_evidence_sources": "medical_insurance,hospital,bank_counter"})

    def run(module: Any) -> dict[str, int]:
        return module.import_life_evidence(session=session, settings=strict, data=data, now=NOW).as_dict()

    old, new, before, after = _both(session, run)
    assert (
        new
        == old
        == {
            "rows": 15,
            "stored": 13,
            "duplicates": 2,
            "people": 12,
            "certified": 5,
            "already_certified": 1,
            "not_counted": 4,
            "skipped_not_active": 2,
        }
    )
    assert _without_per_person(after) == _per_run(session, before, after, window=True)
    assert [row[3] for row in after["ledger"] if row[0] == "reinstatement"] == [ps[1].id, ps[6].id]
    statuses = Counter(status for _, status, *_ in after["pensioners"])
    assert statuses == {"active": 9, "suspended": 1, "on_hold": 1, "terminated": 1}
    imported = session.scalars(select(AuditEvent).where(AuditEvent.action == "life_evidence.imported")).all()
    follow_ups = {"reinstated": 2, "reminders_cancelled": 0, "home_visit_tasks_cancelled": 2}
    assert len(imported) == 1 and imported[0].detail == {**new, **follow_ups}


def test_evidence_rejections_are_the_same_rows_and_reasons(session: Session, settings: Settings) -> None:
    ps, _ = _evidence_world(session, settings)
    n = ps[0].national_id
    bad = (
        "national_id,evidence_date,source\n"
        f"{n},2026-05-01,hospital\n"
        "110101195001010011,2026-05-01,hospital\n"
        f"{n},2026-13-01,hospital\n"
        f"{n},,hospital\n"
        f"{n},2026-12-01,hospital\n"
        f"{n},2026-05-01,facebook\n"
        "110101195001010011,not-a-date,facebook\n"
        f"{n.lower()},2026-05-01,Hospital\n"
    ).encode()
    errors = []
    for module in (legacy_passive, passive):
        with pytest.raises(InvalidInput) as exc:
            module.import_life_evidence(session=session, settings=settings, data=bad, now=NOW)
        errors.append((exc.value.message_en, exc.value.detail))
        session.rollback()
    assert errors[0] == errors[1]
    assert [(e["line"], e["reason"]) for e in errors[1][1]["errors"]] == [
        (3, "unknown_national_id"),
        (4, "invalid_date"),
        (5, "invalid_date"),
        (6, "future_date"),
        (7, "invalid_source"),
        (8, "unknown_national_id"),
    ]
    assert session.scalar(select(func.count()).select_from(Certification)) == 1  # the counter's, from before


def test_rolling_policy_set_based_matches_row_by_row(session: Session, settings: Settings) -> None:
    rolling = settings.model_copy(update={"season_policy": "rolling"})
    f.seed_regions(session)
    due = [date(2026, 10, 20), date(2026, 10, 20), date(2027, 3, 1), None]
    ps = [f.pensioner(session, phone=f"1382000{i:04d}", certification_due_date=d) for i, d in enumerate(due)]
    certification.record_certification(
        session=session, pensioner_id=ps[1].id, channel="counter", now=at(2026, 10, 1), settings=rolling
    )
    _reminder(session, ps[0])
    session.commit()
    data = "national_id,evidence_date,source\n" + "".join(f"{p.national_id},2026-10-05,hospital\n" for p in ps)

    def run(module: Any) -> dict[str, int]:
        return module.import_life_evidence(session=session, settings=rolling, data=data.encode(), now=NOW).as_dict()

    old, new, before, after = _both(session, run)
    assert new == old and (new["certified"], new["already_certified"], new["not_counted"]) == (1, 0, 3)
    assert _without_per_person(after) == _per_run(session, before, after, window=False)
    assert "pending" not in {status for *_, status in after["notifications"]}  # the rolling policy cancels them


def test_deaths_set_based_matches_row_by_row(session: Session, settings: Settings) -> None:
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    ps = [f.pensioner(session, phone=f"1383000{i:04d}", name=f"张{i}") for i in range(6)]
    lifecycle.suspend_cohort(
        session=session,
        where=Pensioner.id == ps[1].id,
        season_year=2026,
        effective_date=date(2026, 7, 1),
        now=at(2026, 7, 20),
    )
    session.expire_all()
    lifecycle.hold_on_reported_death(
        session=session,
        settings=settings,
        pensioner=ps[2],
        death_date=date(2026, 8, 1),
        now=at(2026, 8, 2),
        staff_id=worker.id,
        home_visit_id=None,
    )
    lifecycle.terminate_on_death(
        session=session,
        settings=settings,
        pensioner=ps[3],
        death_date=date(2026, 5, 1),
        now=at(2026, 8, 2),
        actor_id=None,
        source="deaths_import",
    )
    _reminder(session, ps[0])
    _reminder(session, ps[0], 2025)
    session.add(HomeVisitTask(pensioner_id=ps[0].id, season_year=2026, reason="age_80", due_date=date(2026, 9, 1)))
    session.commit()
    n = [p.national_id for p in ps]
    data = (
        "身份证号,死亡日期\n"
        f"{n[4]},2026-09-30\n"  # first in the file: first in the recovery list
        f"{n[0]},2026-03-15\n"
        f"{n[0]},2026-03-15\n"  # the same death twice
        f"{n[1]},2026-05-20\n"  # suspended from July: June paid after death
        f"{n[2]},2026-07-10\n"  # held from September: August paid
        f"{n[3]},2026-05-01\n"  # already terminated
        f"{n[5]},2026-10-01\n"  # died this month: nothing paid after
    ).encode()

    def run(module: Any) -> dict[str, Any]:
        return module.import_deaths(
            session=session, settings=settings, data=data, now=NOW, actor_id=worker.id
        ).as_dict()

    old, new, before, after = _both(session, run)
    assert new == old
    assert (new["terminated"], new["already_terminated"]) == (5, 1)
    assert [(r["name"], r["months"]) for r in new["recoveries"]] == [
        ("张4", ["2026-10"]),
        ("张0", ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]),
        ("张1", ["2026-06"]),
        ("张2", ["2026-08"]),
    ]
    assert after == before


def test_death_rejections_are_the_same_rows_and_reasons(session: Session, settings: Settings) -> None:
    f.seed_regions(session)
    p = f.pensioner(session, birth=date(1950, 3, 4))
    q = f.pensioner(session, phone="13800000009")
    session.commit()
    bad = (
        "national_id,death_date\n"
        f"{p.national_id},2026-12-01\n"  # future
        f"{p.national_id},2026-03-01\n"  # the first valid row
        f"{p.national_id},2026-03-01\n"  # same date: fine
        f"{p.national_id},2026-03-02\n"  # conflicting
        f"{q.national_id},1949-01-01\n"  # before birth
        f"{q.national_id},2026-02-01\n"  # first valid for q
        "110101195001010011,2026-03-01\n"
        f"{q.national_id},bad\n"
        f"{q.national_id},2026-02-03\n"  # conflicting
    ).encode()
    errors = []
    for module in (legacy_passive, passive):
        with pytest.raises(InvalidInput) as exc:
            module.import_deaths(session=session, settings=settings, data=bad, now=NOW)
        errors.append((exc.value.message_en, exc.value.detail))
        session.rollback()
    assert errors[0] == errors[1]
    assert [(e["line"], e["reason"]) for e in errors[1][1]["errors"]] == [
        (2, "future_date"),
        (5, "conflicting_duplicate"),
        (6, "death_before_birth"),
        (8, "unknown_national_id"),
        (9, "invalid_date"),
        (10, "conflicting_duplicate"),
    ]


def test_a_certification_another_channel_commits_meanwhile_wins(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the import holds it from its first write, nobody certifies meanwhile")
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    ids = [f.pensioner(session, phone=f"1384000{i:04d}").id for i in range(3)]
    session.commit()
    plan = certify_many.plan_table(session)
    day = literal(date(2026, 5, 1), Date).label("evidence_date")
    candidates = select(Pensioner.id.label("pensioner_id"), day, literal("hospital").label("source")).subquery()
    today = date(2026, 5, 10)
    certify_many.fill_plan(
        session=session, settings=settings, plan=plan, candidates=candidates, today=today, oldest=date(2026, 1, 1)
    )
    planned = {a: b for a, b in session.execute(select(plan.c.pensioner_id, plan.c.certification_id))}
    assert None not in planned.values()
    with session_factory() as counter:  # the counter certifies ids[1] and commits while the import runs
        certification.record_certification(
            session=counter, pensioner_id=ids[1], channel="counter", now=at(2026, 5, 10), settings=settings
        )
        counter.commit()
    outcome = certify_many.certify_plan(
        session=session, settings=settings, plan=plan, now=at(2026, 5, 10, 10), today=today, import_run="r1"
    )
    assert (outcome.certified, outcome.already_certified) == (2, 1)
    after = {a: b for a, b in session.execute(select(plan.c.pensioner_id, plan.c.certification_id))}
    assert after == {**planned, ids[1]: None}
    certs = [
        tuple(r)
        for r in session.execute(select(Certification.pensioner_id, Certification.id, Certification.import_run))
    ]
    assert sorted(certs) == sorted(
        [
            (ids[0], planned[ids[0]], "r1"),
            (ids[2], planned[ids[2]], "r1"),
            (ids[1], _certification_id(session, ids[1]), None),
        ]
    )
    session.rollback()


def _certification_id(session: Session, pensioner_id: int) -> int:
    """The id of the person's standing certification."""
    return int(session.scalar(select(Certification.id).where(Certification.pensioner_id == pensioner_id)) or 0)
