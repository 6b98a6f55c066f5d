"""Pensioners who join the roster late get a window of their own: reminders, then a suspension not backdated."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import seasons
from certification import service as certification
from core.national_id import make_national_id
from core.settings import Settings
from models import AuditEvent, Pensioner, Suspension
from registry.roster import import_roster
from tests import factories
from tests.scheduler.helpers import at, reminder_kinds, run

HEADER = "national_id,name,phone,region_code,bedridden,family_phone,paying_region_code\n"


def _join(session: Session, settings: Settings, seq: int, today: date) -> int:
    """Import one pensioner on `today`; returns their id."""
    nid = make_national_id("371002", date(1960, 3, 3), seq)
    data = (HEADER + f"{nid},新来的{seq},1380000{seq:04d},{factories.HUANCUI_COMMUNITY},0,,\n").encode()
    result = import_roster(session=session, data=data, today=today, settings=settings)
    assert result.inserted == 1, result.rejected
    pid = session.scalar(select(Pensioner.id).where(Pensioner.national_id == nid))
    assert pid is not None
    return pid


def test_joining_after_the_close_gives_a_window_of_ones_own(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    assert settings.new_pensioner_days == 60 and settings.season_grace_days == 15
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)  # close 30 June, suspension 1 August
    veteran = factories.pensioner(session, phone="13800000099", family_phone=None)
    session.commit()
    assert run(session_factory, settings, at(2026, 7, 16), "suspensions")["suspended"] == 1  # the veteran
    newcomer = _join(session, settings, 1, date(2026, 12, 1))  # own window: 1 December – 30 January
    session.commit()

    out = run(session_factory, settings, at(2026, 12, 1), "reminders", "suspensions", "suspension_notices")
    assert out == {"now": out["now"], "reminders_queued": 1, "suspended": 0, "suspension_notices_queued": 0}
    assert reminder_kinds(session, newcomer) == [("reminder_open", "13800000001")]
    run(session_factory, settings, at(2026, 12, 31), "reminders")  # 30 days before 30 January
    assert reminder_kinds(session, newcomer)[-1] == ("reminder_d30", "13800000001")
    with session_factory() as s:
        p = s.get(Pensioner, newcomer)
        assert p is not None
        st = certification.certification_status(session=s, settings=settings, pensioner=p, now=at(2027, 1, 10))
        assert (st.status, st.deadline, st.days_left) == ("pending", date(2027, 1, 30), 20)

    # Grace runs to 14 February; suspended on the 15th, from 1 March (the month after), never from 1 August.
    assert run(session_factory, settings, at(2027, 2, 14), "suspensions")["suspended"] == 0
    assert run(session_factory, settings, at(2027, 2, 15), "suspensions")["suspended"] == 1
    session.expire_all()
    p = session.get(Pensioner, newcomer)
    assert p is not None and (p.pension_status, p.status_since) == ("suspended", date(2027, 3, 1))
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == newcomer))
    assert sus is not None and (sus.season_year, sus.effective_date) == (2026, date(2027, 3, 1))
    batch = session.scalars(
        select(AuditEvent.target_id).where(AuditEvent.action == "pension.suspended").order_by(AuditEvent.id)
    ).all()
    assert batch == ["2026:city", "2026:added:2026-12-01"]
    assert session.get(Pensioner, veteran.id).status_since == date(2026, 8, 1)  # type: ignore[union-attr]
    session.commit()


def test_joining_late_in_the_season_still_gets_the_full_days(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    early = _join(session, settings, 2, date(2026, 3, 1))  # 60 days end before 30 June: the season's window
    late = _join(session, settings, 3, date(2026, 6, 20))  # 60 days end 19 August
    session.commit()
    assert run(session_factory, settings, at(2026, 6, 20), "reminders")["reminders_queued"] == 2  # d14, own open
    assert [k for k, _ in reminder_kinds(session, early)] == ["reminder_d14"]
    assert [k for k, _ in reminder_kinds(session, late)] == ["reminder_open"]
    assert run(session_factory, settings, at(2026, 7, 16), "suspensions")["suspended"] == 1  # early only
    assert run(session_factory, settings, at(2026, 9, 3), "suspensions")["suspended"] == 0  # 19 August + 15 days
    assert run(session_factory, settings, at(2026, 9, 4), "suspensions")["suspended"] == 1
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == late))
    assert sus is not None and sus.effective_date == date(2026, 10, 1)
    session.commit()


def test_joining_just_before_the_next_season_waits_for_it(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    seasons.create_season(session=session, settings=settings, year=2027)  # opens 1 April 2027
    newcomer = _join(session, settings, 4, date(2027, 3, 1))  # 60 days would end 30 April, inside 2027's season
    session.commit()
    out = run(session_factory, settings, at(2027, 3, 1), "reminders", "suspensions")
    assert (out["reminders_queued"], out["suspended"]) == (0, 0)  # no reminder for 2026's season, no suspension
    assert run(session_factory, settings, at(2027, 4, 1), "reminders")["reminders_queued"] == 1
    assert reminder_kinds(session, newcomer) == [("reminder_open", "13800000004")]
    assert run(session_factory, settings, at(2027, 7, 16), "suspensions")["suspended"] == 1  # 2027's own rules
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == newcomer))
    assert sus is not None and (sus.season_year, sus.effective_date) == (2027, date(2027, 8, 1))
    session.commit()
