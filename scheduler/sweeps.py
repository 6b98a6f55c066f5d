"""The sweeps the scheduler runs, in order: each is a domain's job (its `jobs.py`), run in its own transaction."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from certification import jobs as certification_jobs
from core import metrics, retention
from core.jobs import Sweep, SweepContext
from core.settings import Settings
from home_visit import jobs as home_visit_jobs
from messaging import jobs as messaging_jobs
from models.engine import session_scope
from risk import jobs as risk_jobs

log = logging.getLogger(__name__)

SWEEPS: list[Sweep] = [
    Sweep("home_visits", home_visit_jobs.sweep_home_visits),
    Sweep("reminders", certification_jobs.sweep_reminders),
    Sweep("suspensions", certification_jobs.sweep_suspensions),
    Sweep("suspension_notices", certification_jobs.sweep_suspension_notices, after_minutes=30),
    Sweep("outbox", messaging_jobs.send_outbox, every_minutes=5),
    Sweep("purge_evidence", retention.sweep),
    Sweep("purge_outbox", messaging_jobs.purge_outbox),
    Sweep("risk_rollup", risk_jobs.refresh_rollup, every_minutes=10),
]


def registered() -> list[Sweep]:
    """The sweeps in run order."""
    return list(SWEEPS)


def run_sweeps(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    names: list[str] | None = None,
) -> dict[str, Any]:
    """Run sweeps as of `now`, each in its own transaction; returns their merged counters."""
    result: dict[str, Any] = {"now": now.isoformat()}
    sweeps = registered()
    unknown = set(names or []) - {s.name for s in sweeps}
    if unknown:
        raise KeyError(f"unknown sweeps: {sorted(unknown)}")
    for sweep in sweeps:
        if names is not None and sweep.name not in names:
            continue
        start = time.perf_counter()
        with metrics.timed_sweep(sweep.name), session_scope(session_factory) as session:
            counters = sweep.fn(SweepContext(session=session, settings=settings, now=now))
        log.info(
            "sweep %s: %s",
            sweep.name,
            counters,
            extra={"sweep": sweep.name, "duration_ms": round((time.perf_counter() - start) * 1000, 1)},
        )
        result.update(counters)
    return result
