"""One pensioner through a whole season with a fixed clock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import seasons
from certification import service as certification
from core.settings import Settings
from models import AuditEvent, Notification, Pensioner, Suspension
from tests import factories
from tests.scheduler.helpers import at, reminder_kinds, run

SELF, FAMILY = "13800000001", "13900000002"


def _setup(session: Session, settings: Settings) -> tuple[int, int]:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    old = factories.pensioner(session, birth=date(1940, 5, 5))  # 86: family gets a copy
    young = factories.pensioner(session, birth=date(1960, 5, 5), phone="13800000003", family_phone="13900000004")
    session.commit()
    return old.id, young.id


def test_whole_season(session: Session, session_factory: sessionmaker[Session], settings: Settings) -> None:
    old, young = _setup(session, settings)

    assert run(session_factory, settings, at(2026, 3, 31))["reminders_queued"] == 0  # before opening
    out = run(session_factory, settings, at(2026, 4, 1))
    assert out["reminders_queued"] == 3 and out["outbox_sent"] == 3
    assert reminder_kinds(session, old) == [("reminder_open", SELF), ("reminder_open", FAMILY)]
    assert reminder_kinds(session, young) == [("reminder_open", "13800000003")]
    assert run(session_factory, settings, at(2026, 4, 2))["reminders_queued"] == 0
    assert run(session_factory, settings, at(2026, 4, 1, 15))["reminders_queued"] == 0  # same day again

    # 30 days before close (31 May), swept at night: queued but held until 08:00.
    out = run(session_factory, settings, at(2026, 5, 31, 22))
    assert out["reminders_queued"] == 3 and out["outbox_sent"] == 0
    assert run(session_factory, settings, at(2026, 6, 1, 7, 59), "outbox")["outbox_sent"] == 0
    assert run(session_factory, settings, at(2026, 6, 1, 8, 30), "outbox")["outbox_sent"] == 3
    sent = session.scalars(select(Notification).where(Notification.kind == "reminder_d30")).all()
    session.commit()
    assert all(8 <= n.sent_at.astimezone(at(2026, 1, 1).tzinfo).hour < 21 for n in sent if n.sent_at)

    # The younger one certifies in the app on 10 June: no more reminders for them.
    with session_factory() as s:
        certification.record_certification(
            session=s, pensioner_id=young, channel="app", now=at(2026, 6, 10), settings=settings
        )
        s.commit()
    assert run(session_factory, settings, at(2026, 6, 16))["reminders_queued"] == 2  # d14, self + family
    for day, kind in ((23, "d7"), (27, "d3"), (29, "d1")):
        run(session_factory, settings, at(2026, 6, day))
        assert reminder_kinds(session, old)[-1] == ("reminder_" + kind, FAMILY)
    assert run(session_factory, settings, at(2026, 7, 1))["reminders_queued"] == 0  # after close
    assert [k for k, _ in reminder_kinds(session, young)] == ["reminder_open", "reminder_d30"]
    assert len(reminder_kinds(session, old)) == 12  # open, d30, d14, d7, d3, d1 × self + family

    # Grace runs to 15 July; suspended on the 16th, effective 1 August.
    assert run(session_factory, settings, at(2026, 7, 15))["suspended"] == 0
    assert run(session_factory, settings, at(2026, 7, 16))["suspended"] == 1
    assert run(session_factory, settings, at(2026, 7, 17))["suspended"] == 0
    p = session.get(Pensioner, old)
    assert p is not None and p.pension_status == "suspended" and p.status_since == date(2026, 8, 1)
    assert session.get(Pensioner, young).pension_status == "active"  # type: ignore[union-attr]
    session.commit()

    # Certifies at a counter on 10 October: reinstated with two months (Aug, Sep) of back pay.
    with session_factory() as s:
        cert = certification.record_certification(
            session=s, pensioner_id=old, channel="counter", now=at(2026, 10, 10), settings=settings
        )
        again = certification.record_certification(
            session=s, pensioner_id=old, channel="app", now=at(2026, 10, 11), settings=settings
        )
        assert again.id == cert.id and cert.season_year == 2026
        s.commit()
    session.expire_all()
    p = session.get(Pensioner, old)
    assert p is not None and p.pension_status == "active"
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == old))
    assert sus is not None and sus.effective_date == date(2026, 8, 1)
    assert sus.reinstated_effective_date == date(2026, 10, 1) and sus.back_pay_months == 2
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(old))))
    assert {"pension.reinstated", "certification.recorded"} <= actions
    # The suspension itself is audited once per cohort; the suspension row names the person and the time.
    batch = session.scalars(select(AuditEvent).where(AuditEvent.action == "pension.suspended")).all()
    assert [(e.actor_type, e.target_type) for e in batch] == [("system", "suspension_batch")]
    assert batch[0].detail["season_year"] == 2026 and batch[0].detail["suspended"] >= 1
    assert batch[0].detail["suspended_at"] == sus.suspended_at.isoformat()
    session.commit()
    assert run(session_factory, settings, at(2026, 10, 12))["suspended"] == 0


def test_certifying_cancels_pending_reminders(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    old, _ = _setup(session, settings)
    run(session_factory, settings, at(2026, 4, 1, 23), "reminders")  # queued at night, not sent
    with session_factory() as s:
        certification.record_certification(
            session=s, pensioner_id=old, channel="app", now=at(2026, 4, 2, 7), settings=settings
        )
        s.commit()
    statuses = session.scalars(select(Notification.status).where(Notification.pensioner_id == old)).all()
    session.commit()
    assert statuses == ["cancelled", "cancelled"]
    assert run(session_factory, settings, at(2026, 4, 2, 9), "outbox")["outbox_sent"] == 1  # only the other person


def test_late_sweep_queues_only_latest(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    old, _ = _setup(session, settings)
    # Nothing ran since the window opened; on 24 June the d7 reminder is the newest due one.
    run(session_factory, settings, at(2026, 6, 24), "reminders")
    assert reminder_kinds(session, old) == [("reminder_d7", SELF), ("reminder_d7", FAMILY)]


def test_district_extension_changes_deadline(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    old, _ = _setup(session, settings)
    seasons.extend_window(session=session, year=2026, region_code=factories.HUANCUI, close_date=date(2026, 7, 31))
    other = factories.pensioner(session, region=factories.WENDENG_COMMUNITY, phone="13800000009", family_phone=None)
    session.commit()
    out = run(session_factory, settings, at(2026, 7, 1), "reminders")  # d30 for Huancui, nothing for Wendeng
    assert out["reminders_queued"] == 3  # old (self + family) and young
    assert reminder_kinds(session, other.id) == []
    assert run(session_factory, settings, at(2026, 7, 16), "suspensions")["suspended"] == 1  # Wendeng only
    assert run(session_factory, settings, at(2026, 8, 16), "suspensions")["suspended"] == 2  # both in Huancui
    sus = session.scalar(select(Suspension).where(Suspension.pensioner_id == old))
    session.commit()
    assert sus is not None and sus.effective_date == date(2026, 9, 1)
