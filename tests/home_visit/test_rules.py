"""Task rules: who gets a home-visit task on a fixed clock, assignment, escalation, cancellation."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from certification import lifecycle
from certification import service as certification
from models import AuditEvent, HomeVisitTask, Notification, VerificationAttempt
from scheduler import sweeps
from tests import factories as f
from tests.home_visit.helpers import at, birth_years_ago, count, season

YOUNG = date(1958, 1, 1)


def _people(session, settings):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    season(session, settings)
    today = date(2026, 6, 10)
    people = {
        "bedridden": f.pensioner(session, bedridden=True, birth=YOUNG),
        "limited": f.pensioner(session, birth=YOUNG, limited_mobility=True),
        "aged85": f.pensioner(session, birth=birth_years_ago(today, 85)),
        "aged79": f.pensioner(session, birth=birth_years_ago(date(2026, 6, 30), 80) + timedelta(days=1)),
        "young": f.pensioner(session, birth=YOUNG),
        "certified_bedridden": f.pensioner(session, bedridden=True, birth=YOUNG),
        "terminated_bedridden": f.pensioner(session, bedridden=True, birth=YOUNG),
        "failed3": f.pensioner(session, birth=YOUNG),
        "failed2": f.pensioner(session, birth=YOUNG),
        "wendeng_bedridden": f.pensioner(session, bedridden=True, birth=YOUNG, region=f.WENDENG_COMMUNITY),
    }
    people["terminated_bedridden"].pension_status = "terminated"
    session.flush()
    certification.record_certification(
        session=session,
        pensioner_id=people["certified_bedridden"].id,
        channel="counter",
        now=at(2026, 5, 2),
        settings=settings,
    )
    for who, decisions in (
        ("failed3", ["no_match", "retry", "no_match"]),
        ("failed2", ["no_match", "no_match", "match"]),
    ):
        for d in decisions:
            session.add(
                VerificationAttempt(
                    pensioner_id=people[who].id,
                    at=at(2026, 5, 3),
                    channel="app",
                    season_year=2026,
                    decision=d,
                    reasons=[],
                )
            )
    # An earlier season's failures do not count.
    for _ in range(3):
        session.add(
            VerificationAttempt(
                pensioner_id=people["young"].id,
                at=at(2025, 5, 3),
                channel="app",
                season_year=2025,
                decision="no_match",
                reasons=[],
            )
        )
    workers = {
        "community": f.staff(session, role="field", region=f.HUANCUI_COMMUNITY),
        "town": f.staff(session, role="field", region=f.HUANCUI_COMMUNITY[:9] + "000"),
    }
    session.commit()
    return people, workers


def _tasks(session) -> dict[int, HomeVisitTask]:  # type: ignore[no-untyped-def]
    session.expire_all()
    rows = {t.pensioner_id: t for t in session.scalars(select(HomeVisitTask))}
    session.commit()
    return rows


def test_season_rules_with_a_fixed_clock(session, session_factory, settings) -> None:
    people, workers = _people(session, settings)
    ids = {k: p.id for k, p in people.items()}

    # 1 June: more than 21 days before the 30 June close: only the failed-attempt rule applies.
    result = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 1), names=["home_visits"]
    )
    assert result["home_visit_tasks_created"] == 1
    assert set(_tasks(session)) == {ids["failed3"]}

    # 10 June (20 days before close): bedridden and limited mobility join, aged 80+ not yet (14 days).
    result = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 10), names=["home_visits"]
    )
    assert result["home_visit_tasks_created"] == 3
    assert result["home_visit_tasks_created_bedridden"] == 2
    assert result["home_visit_tasks_created_limited_mobility"] == 1
    tasks = _tasks(session)
    assert set(tasks) == {ids["failed3"], ids["bedridden"], ids["limited"], ids["wendeng_bedridden"]}
    # Limited mobility is not bedridden: the reason says which (issue 18, "Field" walk).
    assert tasks[ids["limited"]].reason == "limited_mobility"
    assert tasks[ids["bedridden"]].reason == "bedridden"

    # 17 June: the 85-year-old gets a task; the one who turns 80 only after close does not.
    result = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 17), names=["home_visits"]
    )
    assert result["home_visit_tasks_created"] == 1
    tasks = _tasks(session)
    assert ids["aged85"] in tasks and tasks[ids["aged85"]].reason == "age_80"
    for never in ("young", "aged79", "certified_bedridden", "terminated_bedridden", "failed2"):
        assert ids[never] not in tasks, never
    assert tasks[ids["failed3"]].reason == "failed_attempts"
    assert all(t.season_year == 2026 and t.status == "open" for t in tasks.values())
    assert tasks[ids["aged85"]].due_date == date(2026, 6, 24)  # today + 7, before the close
    assert tasks[ids["bedridden"]].due_date == date(2026, 6, 17)

    # Idempotent: running again creates nothing.
    again = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 17), names=["home_visits"]
    )
    assert again["home_visit_tasks_created"] == 0
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.task_created") == 5

    # Assignment: Huancui tasks balanced between the two covering workers; Wendeng has nobody (unassigned).
    huancui = [t for pid, t in tasks.items() if pid != ids["wendeng_bedridden"]]
    load = [sum(1 for t in huancui if t.assigned_staff_id == w.id) for w in workers.values()]
    assert sorted(load) == [2, 2]
    assert tasks[ids["wendeng_bedridden"]].assigned_staff_id is None


def test_overdue_tasks_are_escalated_once(session, session_factory, settings) -> None:
    _people(session, settings)
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 6, 10), names=["home_visits"])
    # Due 17 June; on the 18th they are overdue.
    result = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 18), names=["home_visits"]
    )
    assert result["home_visit_tasks_escalated"] == 4
    assert all(t.escalated_at is not None for t in _tasks(session).values() if t.due_date < date(2026, 6, 18))
    again = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 19), names=["home_visits"]
    )
    assert again["home_visit_tasks_escalated"] == 0
    assert count(session, AuditEvent, AuditEvent.action == "home_visit.task_escalated") == 4


def test_escalation_texts_the_field_workers_and_the_supervisors(session, session_factory, settings) -> None:
    _, workers = _people(session, settings)
    workers["community"].phone = "13600000001"
    workers["town"].phone = "13600000002"
    f.staff(session, role="supervisor", region=f.HUANCUI).phone = "13600000003"
    f.staff(session, role="supervisor", region=f.WENDENG).phone = "13600000004"
    f.staff(session, role="supervisor", region=f.CITY)  # no phone: nothing to send
    session.commit()
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 6, 10), names=["home_visits"])
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 6, 18), names=["home_visits"])
    texts = dict(
        session.execute(
            select(Notification.phone, Notification.body_zh).where(Notification.kind == "home_visit_escalation")
        ).all()
    )
    session.commit()
    # Huancui's 3 overdue tasks are split 2/1 between its workers and all reach its district supervisor;
    # Wendeng's supervisor hears of its one unassigned task.
    assert texts == {
        "13600000001": "【养老金认证】有2个上门认证任务已逾期，请尽快安排走访。",
        "13600000002": "【养老金认证】有1个上门认证任务已逾期，请尽快安排走访。",
        "13600000003": "【养老金认证】有3个上门认证任务已逾期，请尽快安排走访。",
        "13600000004": "【养老金认证】有1个上门认证任务已逾期，请尽快安排走访。",
    }
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 6, 19), names=["home_visits"])
    assert count(session, Notification, Notification.kind == "home_visit_escalation") == 4


def test_certifying_elsewhere_or_dying_cancels_the_task(session, session_factory, settings) -> None:
    people, _ = _people(session, settings)
    sweeps.run_sweeps(session_factory=session_factory, settings=settings, now=at(2026, 6, 10), names=["home_visits"])
    certification.record_certification(
        session=session, pensioner_id=people["bedridden"].id, channel="app", now=at(2026, 6, 11), settings=settings
    )
    session.commit()
    tasks = _tasks(session)
    assert tasks[people["bedridden"].id].status == "cancelled"
    assert tasks[people["bedridden"].id].close_reason == "certified_other_channel"
    lifecycle.terminate_on_death(
        session=session,
        settings=settings,
        pensioner=people["limited"],
        death_date=date(2026, 6, 5),
        now=at(2026, 6, 11),
        actor_id=None,
        source="deaths_import",
    )
    limited = people["limited"].id
    session.commit()
    tasks = _tasks(session)
    assert tasks[limited].status == "cancelled" and tasks[limited].close_reason == "deceased"
    # Neither comes back on the next sweep.
    result = sweeps.run_sweeps(
        session_factory=session_factory, settings=settings, now=at(2026, 6, 12), names=["home_visits"]
    )
    assert result["home_visit_tasks_created"] == 0
