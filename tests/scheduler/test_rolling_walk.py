"""Rolling policy: an imported roster gets due dates, so reminders, visits, suspension and reinstatement happen."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import service as certification
from core.national_id import make_national_id
from core.settings import Settings
from models import HomeVisitTask, Pensioner, Suspension
from registry.roster import import_roster
from tests import factories
from tests.scheduler.helpers import at, reminder_kinds, run

HEADER = "national_id,name,phone,region_code,bedridden,family_phone,paying_region_code,last_certified_on\n"
IMPORTED = date(2026, 12, 1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Rolling policy, 15 days of grace (tests/scheduler/conftest.py)."""
    settings.season_policy = "rolling"
    return settings


def _nid(birth: date, seq: int) -> str:
    return make_national_id("371002", birth, seq)


def _due(session: Session, nid: str) -> date | None:
    return session.scalar(select(Pensioner.certification_due_date).where(Pensioner.national_id == nid))


def test_rolling_pensioner_walks_through_reminder_suspension_and_reinstatement(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    assert settings.rolling_first_due_days == 60
    factories.seed_regions(session)
    old, young = _nid(date(1940, 5, 5), 1), _nid(date(1960, 5, 5), 2)
    data = (
        HEADER
        + f"{old},王老,13800000001,{factories.HUANCUI_COMMUNITY},0,13900000002,,2026-01-20\n"  # legacy: due 20 Jan
        + f"{young},李少,13800000003,{factories.HUANCUI_COMMUNITY},0,,,\n"  # none: due 60 days after the import
    )
    result = import_roster(session=session, data=data.encode(), today=IMPORTED, settings=settings)
    assert (result.inserted, result.rejected) == (2, [])
    assert (_due(session, old), _due(session, young)) == (date(2027, 1, 20), date(2027, 1, 30))
    old_id = session.scalar(select(Pensioner.id).where(Pensioner.national_id == old))
    assert old_id is not None
    session.commit()

    assert run(session_factory, settings, at(2026, 12, 20), "reminders")["reminders_queued"] == 0
    assert run(session_factory, settings, at(2026, 12, 21), "reminders")["reminders_queued"] == 2  # 30 days before
    assert reminder_kinds(session, old_id) == [("reminder_d30", "13800000001"), ("reminder_d30", "13900000002")]
    out = run(session_factory, settings, at(2027, 1, 6), "home_visits", "reminders")  # 14 days before: 86 years old
    assert out["home_visit_tasks_created"] == 1 and out["reminders_queued"] == 3  # d14 (self, family); young's d30
    task = session.scalar(select(HomeVisitTask).where(HomeVisitTask.pensioner_id == old_id))
    assert task is not None and (task.season_year, task.reason) == (2027, "age_80")
    session.commit()

    # Due 20 January, 15 days of grace: suspended on 5 February, effective 1 March.
    assert run(session_factory, settings, at(2027, 2, 4), "suspensions")["suspended"] == 0
    assert run(session_factory, settings, at(2027, 2, 5), "suspensions")["suspended"] == 1
    assert run(session_factory, settings, at(2027, 2, 15), "suspensions")["suspended"] == 1  # the young one
    session.expire_all()
    p = session.get(Pensioner, old_id)
    assert p is not None and (p.pension_status, p.status_since) == ("suspended", date(2027, 3, 1))
    session.commit()

    # Certifies at a counter on 10 April: reinstated with one month (March) of back pay, due again in a year.
    with session_factory() as s:
        certification.record_certification(
            session=s, pensioner_id=old_id, channel="counter", now=at(2027, 4, 10), settings=settings
        )
        s.commit()
    session.expire_all()
    p = session.get(Pensioner, old_id)
    assert p is not None and p.pension_status == "active" and p.certification_due_date == date(2028, 4, 10)
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == old_id))
    assert sus is not None and (sus.season_year, sus.effective_date, sus.back_pay_months) == (2027, date(2027, 3, 1), 1)
    session.commit()
    assert run(session_factory, settings, at(2027, 4, 11), "suspensions")["suspended"] == 0
    run(session_factory, settings, at(2028, 3, 11), "reminders")  # the next year's first reminder
    assert reminder_kinds(session, old_id)[-2:] == [("reminder_d30", "13800000001"), ("reminder_d30", "13900000002")]
    assert len(reminder_kinds(session, old_id)) == 6


def test_roster_due_dates_from_the_legacy_column(session: Session, settings: Settings) -> None:
    factories.seed_regions(session)
    registered = factories.pensioner(session)  # on the roster before the rolling policy: no due date
    session.flush()
    overdue, future, bad, cn = (_nid(date(1950, 1, 1), n) for n in (11, 12, 13, 14))
    region = factories.HUANCUI_COMMUNITY
    data = (
        HEADER
        + f"{registered.national_id},{registered.name},13800000001,{region},0,13900000002,,\n"
        + f"{overdue},过期,13800000011,{region},0,,,2024-05-01\n"  # due long ago: a window of their own instead
        + f"{future},将来,13800000012,{region},0,,,2026/09/15\n"
        + f"{bad},明天,13800000013,{region},0,,,2026-12-02\n"  # after the import day
    )
    result = import_roster(session=session, data=data.encode(), today=IMPORTED, settings=settings)
    assert (result.inserted, result.updated, result.rejected) == (2, 1, [{"line": 5, "reason": "bad_date"}])
    assert _due(session, registered.national_id) == date(2027, 1, 30)
    assert (_due(session, overdue), _due(session, future)) == (date(2027, 1, 30), date(2027, 9, 15))
    # Re-importing never moves a due date earlier; a later legacy certification moves it forward.
    again = HEADER + f"{future},将来,13800000012,{region},0,,,2026-03-01\n"
    assert import_roster(session=session, data=again.encode(), today=IMPORTED, settings=settings).unchanged == 1
    later = HEADER + f"{registered.national_id},{registered.name},13800000001,{region},0,13900000002,,2026-11-30\n"
    assert import_roster(session=session, data=later.encode(), today=IMPORTED, settings=settings).updated == 1
    assert _due(session, registered.national_id) == date(2027, 11, 30)
    # The Chinese header works too.
    zh = "身份证号,姓名,手机号,居住地区划代码,上次认证日期\n" + f"{cn},中文,13800000014,{region},20260601\n"
    assert import_roster(session=session, data=zh.encode("gbk"), today=IMPORTED, settings=settings).inserted == 1
    assert _due(session, cn) == date(2027, 6, 1)
    session.rollback()
