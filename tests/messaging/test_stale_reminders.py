"""Only the current reminder is ever sent: stale ones expire unsent, saying why (issue 16 item 2; fixed clock)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import passive, reminders, seasons
from core.settings import Settings
from messaging import sender
from models import Certification, Notification, Pensioner
from models.base import utcnow
from tests import factories
from tests.messaging.helpers import Provider, statuses
from tests.scheduler.helpers import at, run


def _season(session: Session, settings: Settings, n: int = 3, grace: int = 0) -> list[int]:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026, grace_days=grace)  # 1 April – 30 June
    people = [factories.pensioner(session, birth=date(1955, 1, 1), phone=f"1380000001{i}") for i in range(n)]
    session.commit()
    return [p.id for p in people]


def test_april_reminders_do_not_leave_in_december(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _season(session, settings)
    assert run(session_factory, settings, at(2026, 4, 1), "reminders")["reminders_queued"] == 3  # never sent
    # Measured on main: `run-sweeps --now 2026-12-02T09:00` sent the April "certify before 30 June" texts.
    out = run(session_factory, settings, at(2026, 12, 2, 9))
    assert out["outbox_sent"] == 0
    assert statuses(session, kind="reminder_open") == {"expired_season_ended": 3}
    assert run(session_factory, settings, at(2026, 12, 2, 10))["outbox_sent"] == 0  # nor on any later run


def test_the_sender_alone_never_sends_a_reminder_past_its_deadline(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _season(session, settings)
    run(session_factory, settings, at(2026, 4, 1), "reminders")
    provider = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    got = sender.drain(
        session_factory=session_factory, gateways={"sms": provider.gateway()}, now=lambda: at(2026, 12, 2, 9), cfg=cfg
    )
    assert provider.posted == [] and got.expired == 3 and got.sent == 0
    assert statuses(session, kind="reminder_open") == {"expired_deadline": 3}


def test_a_newer_reminder_supersedes_the_unsent_older_one(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _season(session, settings)
    run(session_factory, settings, at(2026, 4, 1), "reminders")  # "open", not sent (no outbox run)
    out = run(session_factory, settings, at(2026, 5, 31), "reminders")  # 30 days before close
    assert out["reminders_queued"] == 3 and out["reminders_expired_superseded"] == 3
    assert run(session_factory, settings, at(2026, 6, 1, 9), "outbox")["outbox_sent"] == 3
    assert statuses(session, kind="reminder_open") == {"expired_superseded": 3}
    assert statuses(session, kind="reminder_d30") == {"sent": 3}


def test_a_reminder_for_someone_certified_without_a_cancel_expires(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ids = _season(session, settings)
    run(session_factory, settings, at(2026, 4, 1), "reminders")
    # A set-based import certifies in one statement and cancels nothing itself.
    session.add(
        Certification(pensioner_id=ids[0], season_year=2026, channel="passive", certified_at=at(2026, 4, 1, 12))
    )
    session.commit()
    out = run(session_factory, settings, at(2026, 4, 2))  # the sender's screen finds it in the claimed batch
    assert out["outbox_expired"] == 1 and out["outbox_sent"] == 2
    assert statuses(session, pensioner_id=ids[0]) == {"expired_certified": 1}


def test_a_deadline_passed_in_the_grace_period_expires_the_reminder(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _season(session, settings, n=1, grace=31)
    run(session_factory, settings, at(2026, 6, 29), "reminders")  # d1: "certify by 30 June", never sent
    out = run(session_factory, settings, at(2026, 7, 3))  # closed; suspensions only after the grace days
    assert out["outbox_sent"] == 0 and out["reminders_expired_deadline"] == 1
    session.expire_all()
    note = session.scalars(select(Notification).where(Notification.kind == "reminder_d1")).one()
    assert note.status == "expired_deadline" and note.sent_at is None


def test_the_sender_screens_each_batch_for_certified_and_superseded_reminders(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ids = _season(session, settings)
    run(session_factory, settings, at(2026, 4, 1), "reminders")  # "open" for all three, not sent
    session.add(Certification(pensioner_id=ids[0], season_year=2026, channel="passive", certified_at=at(2026, 4, 2)))
    newer = Notification(
        pensioner_id=ids[1], phone="13800000011", kind="reminder_d30", season_year=2026, recipient="self",
        deadline_date=date(2026, 6, 30), status="sent", next_attempt_at=None, created_at=at(2026, 4, 2),
    )  # fmt: skip
    session.add(newer)
    session.commit()
    provider = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    got = sender.drain(  # no sweep ran since: the claim itself finds them
        session_factory=session_factory, gateways={"sms": provider.gateway()}, now=lambda: at(2026, 4, 3), cfg=cfg
    )
    assert got.sent == 1 and got.expired == 2
    assert statuses(session, pensioner_id=ids[0]) == {"expired_certified": 1}
    assert statuses(session, pensioner_id=ids[1], kind="reminder_open") == {"expired_superseded": 1}
    assert statuses(session, pensioner_id=ids[2]) == {"sent": 1}


def test_a_reminder_of_someone_certified_by_an_import_is_never_sent(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ids = _season(session, settings)
    run(session_factory, settings, at(2026, 4, 1), "reminders")  # "open" for all three, not sent
    nid = session.get_one(Pensioner, ids[0]).national_id
    # The set-based import certifies and leaves the reminder pending (issue 16 item 7): the screen expires it.
    data = f"national_id,evidence_date,source\n{nid},2026-04-01,medical_insurance\n".encode()
    with session_factory() as s:
        assert passive.import_life_evidence(session=s, settings=settings, data=data, now=at(2026, 4, 2)).certified == 1
        s.commit()
    assert statuses(session, pensioner_id=ids[0]) == {"pending": 1}
    provider = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    got = sender.drain(
        session_factory=session_factory, gateways={"sms": provider.gateway()}, now=lambda: at(2026, 4, 2, 10), cfg=cfg
    )
    assert got.sent == 2 and got.expired == 1
    mine = session.scalars(select(Notification.id).where(Notification.pensioner_id == ids[0])).one()
    assert str(mine) not in provider.ids and len(provider.ids) == 2
    assert statuses(session, pensioner_id=ids[0]) == {"expired_certified": 1}
    # Nor by a later sweep and sender run.
    assert run(session_factory, settings, at(2026, 4, 3))["outbox_sent"] == 0
    assert statuses(session, pensioner_id=ids[0]) == {"expired_certified": 1}


def _import(session_factory: sessionmaker[Session], settings: Settings, nids: list[str], day: str, now) -> None:  # type: ignore[no-untyped-def]
    rows = "".join(f"{n},{day},medical_insurance\n" for n in nids)
    with session_factory() as s:
        passive.import_life_evidence(
            session=s, settings=settings, data=f"national_id,evidence_date,source\n{rows}".encode(), now=now
        )
        s.commit()


def test_after_an_import_the_certified_peoples_reminders_expire_in_short_transactions(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ids = _season(session, settings, n=4)
    run(session_factory, settings, at(2026, 4, 1), "reminders")  # "open" for all four, not sent
    session.add(  # a withdrawn certification does not count: the reminder stays
        Certification(
            pensioner_id=ids[3], season_year=2026, channel="counter", certified_at=at(2026, 4, 1, 12),
            withdrawn_at=at(2026, 4, 1, 13), withdrawal_reason="wrong person",
        )
    )  # fmt: skip
    session.commit()
    nids = [session.get_one(Pensioner, i).national_id for i in ids[:2]]
    _import(session_factory, settings, nids, "2026-04-01", at(2026, 4, 2))
    assert statuses(session, kind="reminder_open") == {"pending": 4}  # the import itself leaves them
    # One pensioner id per transaction here (50,000 by default): every batch its own commit.
    assert reminders.expire_certified_in_batches(session_factory=session_factory, batch=1) == 2
    for i, want in zip(ids, ["expired_certified", "expired_certified", "pending", "pending"], strict=True):
        assert statuses(session, pensioner_id=i) == {want: 1}
    assert reminders.expire_certified_in_batches(session_factory=session_factory) == 0  # nothing left to do
    got = sender.drain(
        session_factory=session_factory,
        gateways={"sms": (provider := Provider()).gateway()},
        now=lambda: at(2026, 4, 2, 10),
        cfg=sender.SenderConfig.from_settings(settings),
    )
    assert got.sent == 2 and got.expired == 0 and len(provider.ids) == 2  # the sender no longer meets them


def test_the_import_command_expires_the_reminders_after_its_commit(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    database_url: str,
    monkeypatch,  # type: ignore[no-untyped-def]
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import json

    from typer.testing import CliRunner

    from cli import app
    from core.settings import get_settings

    ids = _season(session, settings, n=2)
    run(session_factory, settings, at(2026, 4, 1), "reminders")
    nid = session.get_one(Pensioner, ids[0]).national_id
    session.commit()
    # The command runs on the real clock: evidence of yesterday is recent and inside the 2026 season (or later).
    day = seasons.local_date(utcnow(), settings.timezone) - timedelta(days=1)
    (tmp_path / "evidence.csv").write_text(f"national_id,evidence_date,source\n{nid},{day},medical_insurance\n")
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["import-life-evidence", str(tmp_path / "evidence.csv"), "--json"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["certified"] == 1 and out["reminders_expired_certified"] == 1
    assert statuses(session, pensioner_id=ids[0]) == {"expired_certified": 1}
    assert statuses(session, pensioner_id=ids[1]) == {"pending": 1}
