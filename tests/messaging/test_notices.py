"""Notices: suspension (set-based, family copies for 80+/bedridden, quiet hours), reinstatement with back-pay months,
home-visit appointments with date and worker, masked names in family copies."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import event, select

from certification import passive, seasons
from certification import service as certification_service
from certification import suspension as suspension_service
from home_visit import assignment
from messaging import notices, outbox, texts
from models import Notification, Pensioner, Region, StaffUser
from tests import factories as f
from tests.home_visit.helpers import at, open_task
from tests.messaging.helpers import FakeProvider, outbox_rows, run_sender
from tests.scheduler.helpers import run


def _notices(session, pid: int, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in outbox_rows(session, pid) if r["kind"].startswith(kind)]


def _text(row: dict) -> tuple[str, str]:  # type: ignore[type-arg]
    """The text the sender sends for an outbox row (stored, or rendered from kind, date and subject_name)."""
    return outbox.message_text(Notification(**row))


def _city(session, settings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A season and four people: young, 80+, bedridden, and one already certified."""
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    people = {
        "young": f.pensioner(
            session, name="李小红", birth=date(1960, 1, 1), phone="13800000011", family_phone="13900000011"
        ),
        "old": f.pensioner(
            session, name="张三明", birth=date(1940, 1, 1), phone="13800000012", family_phone="13900000012"
        ),
        "bedridden": f.pensioner(
            session,
            name="王芳",
            birth=date(1962, 1, 1),
            bedridden=True,
            phone="13800000013",
            family_phone="13900000013",
        ),
        "certified": f.pensioner(
            session, name="赵六", birth=date(1940, 1, 1), phone="13800000014", family_phone="13900000014"
        ),
    }
    session.flush()
    certification_service.record_certification(
        session=session,
        pensioner_id=people["certified"].id,
        channel="data_comparison",
        now=at(2026, 5, 2),
        settings=settings,
    )
    session.commit()
    return {k: p.id for k, p in people.items()}


def test_suspension_sweep_queues_notices_set_based_with_family_copies(
    session, session_factory, settings, engine
) -> None:
    ids = _city(session, settings)
    statements: list[str] = []

    def spy(_conn, _cursor, statement, _params, _context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATION"):
            statements.append(("many " if executemany else "") + statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        out = run(
            session_factory, settings, at(2026, 7, 2, 22), "suspensions", "suspension_notices"
        )  # 22:00: inside quiet hours
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert out["suspended"] == 3 and out["suspension_notices_queued"] == 5
    assert len(statements) == 1 and "SELECT" in statements[0] and not statements[0].startswith("many")
    young = _notices(session, ids["young"], notices.SUSPENSION_NOTICE)
    assert [r["recipient"] for r in young] == ["self"]  # under 80, not bedridden: no family copy
    assert young[0]["body_zh"] is None and young[0]["deadline_date"] == date(2026, 7, 1)  # rendered when sent
    zh, en = _text(young[0])
    assert "养老金自2026年7月起暂停发放" in zh and "suspended from 2026-07" in en
    old = {r["recipient"]: r for r in _notices(session, ids["old"], notices.SUSPENSION_NOTICE)}
    assert old["family"]["phone"] == "13900000012"
    assert old["family"]["subject_name"] == "张*明" and old["family"]["body_zh"] is None
    family_zh, family_en = _text(old["family"])
    assert "您的家人张*明未在规定期限内" in family_zh and "张三明" not in family_zh
    assert "Your family member 张*明" in family_en
    bedridden = _notices(session, ids["bedridden"], notices.SUSPENSION_NOTICE)
    assert {r["recipient"] for r in bedridden} == {"self", "family"} and "您的家人王*" in _text(bedridden[1])[0]
    assert _notices(session, ids["certified"], notices.SUSPENSION_NOTICE) == []
    morning = datetime(2026, 7, 3, 0, 0, tzinfo=UTC)  # 08:00 Beijing: the end of the quiet hours
    assert {r["next_attempt_at"] for r in young + bedridden} == {morning}
    again = run(session_factory, settings, at(2026, 7, 3, 9), "suspensions", "suspension_notices")
    assert again["suspension_notices_queued"] == 0


def test_reinstatement_names_the_back_pay_months_and_cancels_the_unsent_suspension_notice(
    session, session_factory, settings
) -> None:
    ids = _city(session, settings)
    run(
        session_factory, settings, at(2026, 7, 2, 22), "suspensions", "suspension_notices"
    )  # notices wait for the morning
    with session_factory() as s:
        certification_service.record_certification(
            session=s, pensioner_id=ids["old"], channel="data_comparison", now=at(2026, 7, 2, 23), settings=settings
        )
        s.commit()
    suspension = _notices(session, ids["old"], notices.SUSPENSION_NOTICE)
    assert {r["status"] for r in suspension} == {"cancelled"}  # certified before it went out: never sent
    assert all(r["status"] == "pending" for r in _notices(session, ids["young"], notices.SUSPENSION_NOTICE))
    provider = FakeProvider()
    run_sender(session_factory, settings, provider, at(2026, 7, 3, 9))
    assert not any("暂停发放" in text and phone.endswith("12") for phone, text, _ in provider.sent)
    run(session_factory, settings, at(2026, 7, 3, 9), "suspensions", "suspension_notices")
    with session_factory() as s:
        certification_service.record_certification(
            session=s, pensioner_id=ids["young"], channel="data_comparison", now=at(2026, 10, 15), settings=settings
        )
        s.commit()
    (own,) = _notices(session, ids["young"], notices.REINSTATEMENT_NOTICE)  # under 80: no family copy
    assert "养老金自2026年10月起恢复发放，并补发2026年7月至2026年9月共3个月的养老金" in own["body_zh"], own["body_zh"]
    assert "back pay for 2026-07 to 2026-09 (3 months)" in own["body_en"]


def test_family_copy_of_a_reinstatement_says_whose(session, session_factory, settings) -> None:
    ids = _city(session, settings)
    run(session_factory, settings, at(2026, 7, 2, 9), "suspensions", "suspension_notices")
    with session_factory() as s:
        certification_service.record_certification(
            session=s, pensioner_id=ids["old"], channel="data_comparison", now=at(2026, 8, 20), settings=settings
        )
        s.commit()
    rows = {r["recipient"]: r for r in _notices(session, ids["old"], notices.REINSTATEMENT_NOTICE)}
    assert rows["family"]["phone"] == "13900000012"
    assert rows["family"]["body_zh"].startswith("【养老金认证】您的家人张*明已完成养老金领取资格认证")
    assert "补发2026年7月共1个月" in rows["family"]["body_zh"]
    assert "Your family member 张*明 has certified" in rows["family"]["body_en"]


def test_masked_names_in_sql_match_the_text_rule(session, settings) -> None:
    f.seed_regions(session)
    names = ["王", "王芳", "张三明", "欧阳小明"]
    people = [
        f.pensioner(session, name=n, birth=date(1940, 1, 1), phone=f"1380000010{i}", family_phone=f"1390000010{i}")
        for i, n in enumerate(names)
    ]
    now = at(2026, 5, 1, 10)
    queued = notices.queue_appointment_notices(
        session=session,
        settings=settings,
        pensioner_ids=select(StaffUser.id).where(False),
        day=date(2026, 5, 3),
        worker="x",
        now=now,
    )
    assert queued == 0
    notices.queue_appointment_notices(
        session=session,
        settings=settings,
        pensioner_ids=[p.id for p in people],
        day=date(2026, 5, 3),
        worker="刘工",
        now=now,
    )
    session.flush()
    family = session.execute(
        select(Notification.pensioner_id, Notification.body_zh).where(Notification.recipient == "family")
    ).all()
    session.rollback()
    by_id = dict(family)
    for p, name in zip(people, names, strict=True):
        assert f"为您的家人{texts.mask_name(name)}办理" in by_id[p.id]
    assert [texts.mask_name(n) for n in names] == ["王", "王*", "张*明", "欧*明"]


def _visit_world(session, settings, clock):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    clock.now = at(2026, 6, 10)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    worker.display_name = "刘建国"
    other = f.staff(session, role="field", region=f.HUANCUI)
    other.display_name = "陈静"
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    p = f.pensioner(session, name="张三明", bedridden=True, phone="13800000021", family_phone="13900000021")
    task = open_task(session, settings, p, clock.now)
    session.commit()
    return p.id, task.id, task.due_date, worker, other, supervisor


def test_appointment_text_has_the_date_and_the_workers_name(client, session, settings, clock) -> None:
    pid, task_id, due, worker, other, supervisor = _visit_world(session, settings, clock)
    before = len(_notices(session, pid, notices.APPOINTMENT_NOTICE))
    take = client.post(
        f"/api/v1/home-visits/{task_id}/take",
        json={"appointment_date": "2026-06-12"},
        headers=f.staff_token(client, other),
    )
    assert take.status_code == 200, take.text
    rows = _notices(session, pid, notices.APPOINTMENT_NOTICE)[before:]
    own = next(r for r in rows if r["recipient"] == "self")
    fam = next(r for r in rows if r["recipient"] == "family")
    assert "社保工作人员陈静将于2026年6月12日上门为您办理" in own["body_zh"] and "on 2026-06-12" in own["body_en"]
    assert fam["phone"] == "13900000021" and "为您的家人张*明办理" in fam["body_zh"]
    sup = f.staff_token(client, supervisor)
    back = client.post(f"/api/v1/home-visits/{task_id}/assign", json={"staff_id": worker.id}, headers=sup)
    assert back.status_code == 200, back.text
    latest = _notices(session, pid, notices.APPOINTMENT_NOTICE)[-2:]
    due_zh = f"{due.year}年{due.month}月{due.day}日"
    assert all(f"刘建国将于{due_zh}上门" in r["body_zh"] for r in latest)  # no date given: the task's due date
    past = client.post(
        f"/api/v1/home-visits/{task_id}/assign",
        json={"staff_id": other.id, "appointment_date": "2026-06-01"},
        headers=sup,
    )
    assert past.status_code == 422 and past.json()["code"] == "invalid_appointment_date"


def test_window_extension_lift_and_a_later_suspension_each_get_their_notice(session, session_factory, settings) -> None:
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    pid = f.pensioner(session, region=f.WENDENG_COMMUNITY, name="孙文登", birth=date(1960, 1, 1)).id
    session.commit()
    run(session_factory, settings, at(2026, 7, 1, 9), "suspensions", "suspension_notices")  # suspended from 1 July
    with session_factory() as s:
        seasons.extend_window(
            session=s, year=2026, region_code=f.WENDENG, close_date=date(2026, 7, 31), settings=settings
        )
        suspension_service.lift_after_window_change(
            session=s, settings=settings, year=2026, now=at(2026, 7, 3, 9), actor_id=None
        )
        s.commit()
    (lifted,) = _notices(session, pid, notices.REINSTATEMENT_NOTICE)
    assert lifted["body_zh"].startswith("【养老金认证】因认证期限延长，您的养老金自2026年7月起恢复发放")
    assert "请在新的截止日期前完成认证" in lifted["body_zh"] and "补发" not in lifted["body_zh"]  # nothing was withheld
    assert {r["status"] for r in _notices(session, pid, notices.SUSPENSION_NOTICE)} == {"cancelled"}
    run(
        session_factory, settings, at(2026, 8, 2, 9), "suspensions", "suspension_notices"
    )  # still uncertified: suspended from 1 August
    kinds = sorted(r["kind"] for r in _notices(session, pid, notices.SUSPENSION_NOTICE))
    assert kinds == ["notice_suspension_202607", "notice_suspension_202608"]
    assert (
        "自2026年8月起暂停发放"
        in outbox.message_text(Notification(**_notices(session, pid, "notice_suspension_202608")[0]))[0]
    )


def test_a_withdrawn_certification_cancels_the_unsent_reinstatement_notice(session, session_factory, settings) -> None:
    ids = _city(session, settings)
    supervisor = f.staff(session, role="supervisor", region=f.CITY)
    session.commit()
    run(session_factory, settings, at(2026, 7, 2, 9), "suspensions", "suspension_notices")
    with session_factory() as s:
        cert = certification_service.record_certification(
            session=s, pensioner_id=ids["young"], channel="data_comparison", now=at(2026, 8, 20, 22), settings=settings
        )
        s.commit()
        cert_id = cert.id
    assert [r["status"] for r in _notices(session, ids["young"], notices.REINSTATEMENT_NOTICE)] == ["pending"]
    with session_factory() as s:
        certification_service.withdraw_certification(
            session=s,
            settings=settings,
            certification_id=cert_id,
            region=s.get(Region, f.CITY),
            staff=s.get(StaffUser, supervisor.id),
            reason="核实为冒名顶替",
            now=at(2026, 8, 20, 23),
        )
        s.commit()
    assert [r["status"] for r in _notices(session, ids["young"], notices.REINSTATEMENT_NOTICE)] == ["cancelled"]


def test_family_reminders_from_the_sweep_say_whose(session, session_factory, settings) -> None:
    ids = _city(session, settings)
    run(session_factory, settings, at(2026, 4, 1, 9), "reminders")
    family = {r["recipient"]: r for r in _notices(session, ids["old"], "reminder_open")}
    assert family["self"]["body_zh"] is None and family["family"]["body_zh"] is None  # rendered when sent
    assert family["family"]["subject_name"] == "张*明"
    family_zh, family_en = _text(family["family"])
    assert family_zh.startswith("【养老金认证】您的家人张*明尚未完成本年度养老金领取资格认证")
    assert "Your family member 张*明 has not yet certified" in family_en
    provider = FakeProvider()
    run_sender(session_factory, settings, provider, at(2026, 4, 1, 10))
    texts_sent = {phone: text for phone, text, _ in provider.sent}
    assert "您的家人张*明" in texts_sent["13900000012"] and "您的家人王*" in texts_sent["13900000013"]
    assert texts_sent["13800000012"].startswith("【养老金认证】您尚未完成")


def test_an_evidence_import_that_reinstates_queues_the_notice_and_a_death_cancels_unsent_ones(
    session, session_factory, settings
) -> None:
    ids = _city(session, settings)
    run(session_factory, settings, at(2026, 7, 2, 9), "suspensions", "suspension_notices")
    people = {p.id: p.national_id for p in session.scalars(select(Pensioner).where(Pensioner.id.in_(ids.values())))}
    session.commit()
    evidence = f"national_id,evidence_date,source\n{people[ids['young']]},2026-08-10,medical_insurance\n"
    with session_factory() as s:
        passive.import_life_evidence(session=s, settings=settings, data=evidence.encode(), now=at(2026, 8, 12))
        s.commit()
    (own,) = _notices(session, ids["young"], notices.REINSTATEMENT_NOTICE)
    assert "补发2026年7月" in own["body_zh"] and own["status"] == "pending"
    assert {r["status"] for r in _notices(session, ids["old"], notices.SUSPENSION_NOTICE)} == {"pending"}
    deaths = f"national_id,death_date\n{people[ids['old']]},2026-07-20\n"
    with session_factory() as s:
        passive.import_deaths(session=s, settings=settings, data=deaths.encode(), now=at(2026, 8, 12, 3))
        s.commit()
    assert {r["status"] for r in _notices(session, ids["old"], notices.SUSPENSION_NOTICE)} == {"cancelled"}


def test_bulk_assignment_texts_the_appointment_and_a_repeat_texts_nothing(session, settings, clock) -> None:
    f.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    now = at(2026, 6, 10)
    p = f.pensioner(session, name="张三明", bedridden=True, phone="13800000031", family_phone="13900000031")
    task = open_task(session, settings, p, now)  # nobody covers the community yet: unassigned, no text
    assert task.assigned_staff_id is None and _notices(session, p.id, notices.APPOINTMENT_NOTICE) == []
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY)
    worker.display_name = "刘建国"
    other = f.staff(session, role="field", region=f.HUANCUI)
    other.display_name = "陈静"
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    session.flush()

    assert assignment.assign_unassigned(session=session, settings=settings, now=now) == 1
    rows = _notices(session, p.id, notices.APPOINTMENT_NOTICE)
    due = f"{task.due_date.year}年{task.due_date.month}月{task.due_date.day}日"
    assert sorted(r["recipient"] for r in rows) == ["family", "self"]
    assert all(f"刘建国将于{due}上门" in r["body_zh"] for r in rows)
    assert "为您的家人张*明办理" in next(r["body_zh"] for r in rows if r["recipient"] == "family")
    assert assignment.assign_unassigned(session=session, settings=settings, now=now) == 0

    def reassign(to: StaffUser) -> int:
        session.refresh(task)
        assignment.reassign(session=session, settings=settings, task=task, staff_id=to.id, actor=supervisor, now=now)
        return len(_notices(session, p.id, notices.APPOINTMENT_NOTICE))

    assert reassign(worker) == 2  # the same worker and date again: no second text
    assert reassign(other) == 4  # another worker: an updated text to both
    assert reassign(other) == 4
    assert reassign(worker) == 6  # back to the first worker: the latest text named the other one
    session.rollback()


def test_suspension_notices_have_their_own_sweep_that_catches_up_but_never_announces_an_old_suspension(
    session, session_factory, settings
) -> None:
    ids = _city(session, settings)
    out = run(session_factory, settings, at(2026, 7, 2, 9), "suspensions")
    assert out == {"now": out["now"], "suspended": 3}  # the suspension sweep itself queues no notice
    assert _notices(session, ids["young"], notices.SUSPENSION_NOTICE) == []
    late = run(session_factory, settings, at(2026, 7, 8, 9), "suspension_notices")  # 6 days late: still sent
    assert late["suspension_notices_queued"] == 5
    assert run(session_factory, settings, at(2026, 7, 8, 10), "suspension_notices")["suspension_notices_queued"] == 0


def test_a_suspension_older_than_the_notice_age_is_not_announced(session, session_factory, settings) -> None:
    ids = _city(session, settings)
    run(session_factory, settings, at(2026, 7, 2, 9), "suspensions")
    assert settings.suspension_notice_max_age_days == 7
    out = run(session_factory, settings, at(2026, 7, 10, 9), "suspension_notices")  # 8 days after
    assert out["suspension_notices_queued"] == 0
    assert _notices(session, ids["old"], notices.SUSPENSION_NOTICE) == []
