"""Sweeps run twice, concurrently, or crash half way: exactly one message each, no partial state."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from certification import lifecycle, seasons
from core.jobs import Sweep
from core.settings import Settings
from models import Notification, Pensioner, Suspension
from scheduler import sweeps
from tests import factories
from tests.scheduler.helpers import at, count_notifications, run


def _city(session: Session, settings: Settings, n: int = 20) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    for i in range(n):
        factories.pensioner(session, birth=date(1940 + i % 2 * 20, 1, 1), phone=f"1380000{i:04d}")
    session.commit()


def test_sweep_twice_and_concurrently_queues_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _city(session, settings)  # 10 aged 86 (self + family), 10 aged 66 (self)
    now = at(2026, 6, 16)
    barrier = threading.Barrier(4)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(run(session_factory, settings, now, "reminders", "suspensions"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sum(r["reminders_queued"] for r in results) == 30
    run(session_factory, settings, now, "reminders")
    assert count_notifications(session, kind="reminder_d14") == 30
    dupes = session.execute(
        select(Notification.pensioner_id, Notification.kind, Notification.recipient)
        .group_by(Notification.pensioner_id, Notification.season_year, Notification.kind, Notification.recipient)
        .having(func.count() > 1)
    ).all()
    session.commit()
    assert dupes == []


def test_concurrent_suspension_sweeps_suspend_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _city(session, settings, n=6)
    now = at(2026, 7, 20)
    barrier = threading.Barrier(3)
    results: list[dict[str, Any]] = []

    def worker() -> None:
        barrier.wait()
        results.append(run(session_factory, settings, now, "suspensions"))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r["suspended"] for r in results) == 6
    assert session.scalar(select(func.count()).select_from(Suspension)) == 6
    session.commit()


def test_crash_half_way_leaves_nothing_and_rerun_finishes(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _city(session, settings, n=4)
    real = lifecycle.suspend_cohort

    def crashing(**kwargs: Any) -> int:
        real(**kwargs)  # suspension rows, audit and status written …
        raise RuntimeError("power cut")  # … then the process dies before commit

    monkeypatch.setattr(lifecycle, "suspend_cohort", crashing)
    with pytest.raises(RuntimeError):
        run(session_factory, settings, at(2026, 7, 20), "suspensions")
    assert session.scalar(select(func.count()).select_from(Suspension)) == 0
    assert set(session.scalars(select(Pensioner.pension_status))) == {"active"}
    session.commit()
    monkeypatch.setattr(lifecycle, "suspend_cohort", real)
    assert run(session_factory, settings, at(2026, 7, 20), "suspensions")["suspended"] == 4
    assert run(session_factory, settings, at(2026, 7, 21), "suspensions")["suspended"] == 0


def test_sweep_list_accepts_a_replacement_sweep(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    replaced = [
        Sweep("home_visits", lambda ctx: {"home_visit_tasks_created": 7}) if s.name == "home_visits" else s
        for s in sweeps.SWEEPS
    ]
    monkeypatch.setattr(sweeps, "SWEEPS", replaced)
    out = run(session_factory, settings, at(2026, 5, 1), "home_visits")
    assert out["home_visit_tasks_created"] == 7
    with pytest.raises(KeyError):
        run(session_factory, settings, at(2026, 5, 1), "nope")
