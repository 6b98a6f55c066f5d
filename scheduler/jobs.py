"""APScheduler 3 wiring: one stored job per sweep, fixed ids, in a SQLAlchemyJobStore on the service database.

Run it as its own process (`pension-cert scheduler`); APScheduler 3 cannot share a job store between
processes, so only one scheduler may run. The sweeps themselves are safe to run concurrently anyway.
"""

from __future__ import annotations

import logging
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.settings import Settings, get_settings
from models.base import utcnow
from models.engine import make_engine, make_session_factory
from scheduler import sweeps

log = logging.getLogger(__name__)
JOBSTORE_TABLE = "apscheduler_job"


def job_id(name: str) -> str:
    """The fixed job id of a sweep."""
    return f"sweep:{name}"


def run_sweep_job(name: str) -> None:
    """What APScheduler calls: run one sweep as of now in a fresh session (arguments are names only)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        sweeps.run_sweeps(session_factory=make_session_factory(engine), settings=settings, now=utcnow(), names=[name])
    except KeyError:
        # A stored job of a sweep that was renamed or removed (e.g. the old "retention" placeholder).
        log.warning("no sweep named %s; stale job %s left in the job store", name, job_id(name))
    finally:
        engine.dispose()


def build_scheduler(
    settings: Settings, *, kind: Literal["blocking", "background"] = "blocking", jobstore_url: str | None = None
) -> BaseScheduler:
    """A scheduler with one job per registered sweep (replace_existing, coalesce, misfire grace)."""
    cls = BlockingScheduler if kind == "blocking" else BackgroundScheduler
    tz = ZoneInfo(settings.timezone)
    scheduler = cls(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url or settings.database_url, tablename=JOBSTORE_TABLE)},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": settings.scheduler_misfire_grace_seconds,
            "max_instances": 1,
        },
        timezone=tz,
    )
    for sweep in sweeps.registered():
        trigger: CronTrigger | IntervalTrigger
        if sweep.every_minutes:
            minutes = settings.outbox_interval_minutes if sweep.name == "outbox" else sweep.every_minutes
            trigger = IntervalTrigger(minutes=minutes, timezone=tz)
        else:
            start = (settings.sweep_hour * 60 + settings.sweep_minute + sweep.after_minutes) % (24 * 60)
            trigger = CronTrigger(hour=start // 60, minute=start % 60, timezone=tz)
        scheduler.add_job(
            "scheduler.jobs:run_sweep_job",
            trigger=trigger,
            args=[sweep.name],
            id=job_id(sweep.name),
            name=sweep.name,
            replace_existing=True,
        )
    return scheduler


def start_embedded(settings: Settings) -> BaseScheduler | None:
    """For `serve` with one worker and settings.embed_scheduler: a background scheduler, started."""
    if not settings.embed_scheduler or settings.workers != 1:
        return None
    scheduler = build_scheduler(settings, kind="background")
    scheduler.start()
    log.info("embedded scheduler started with jobs %s", [j.id for j in scheduler.get_jobs()])
    return scheduler
