"""The sweep registry: named, set-based jobs run in order, each in its own transaction.

Other domains plug in by registering a function under a name (replacing the placeholder):

    from scheduler import sweeps

    @sweeps.register("home_visits")
    def create_home_visit_tasks(ctx: sweeps.SweepContext) -> dict[str, int]:
        return {"home_visit_tasks_created": n}

Modules listed in PLUGIN_MODULES are imported (if present) before sweeps run, so registration
happens in the scheduler process and the CLI alike.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from certification import reminders, suspension
from core import metrics, retention
from core.settings import Settings
from messaging import outbox
from models.engine import session_scope

log = logging.getLogger(__name__)

PLUGIN_MODULES = ("home_visit.jobs",)


@dataclass
class SweepContext:
    """What a sweep gets: an open session (committed by the runner), settings and the instant."""

    session: Session
    settings: Settings
    now: datetime


SweepFn = Callable[[SweepContext], dict[str, int]]


@dataclass(frozen=True)
class Sweep:
    """One registered sweep; `every_minutes` None means daily at settings.sweep_hour:sweep_minute."""

    name: str
    fn: SweepFn
    every_minutes: int | None = None


_REGISTRY: dict[str, Sweep] = {}


def register(name: str, *, every_minutes: int | None = None) -> Callable[[SweepFn], SweepFn]:
    """Register (or replace) the sweep called `name`; registration order is run order."""

    def wrap(fn: SweepFn) -> SweepFn:
        _REGISTRY[name] = Sweep(name, fn, every_minutes if every_minutes is not None else _keep(name))
        return fn

    return wrap


def _keep(name: str) -> int | None:
    old = _REGISTRY.get(name)
    return old.every_minutes if old else None


def registered() -> list[Sweep]:
    """The sweeps in run order, after importing plug-in modules."""
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    return list(_REGISTRY.values())


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


@register("home_visits")
def _home_visits_placeholder(ctx: SweepContext) -> dict[str, int]:
    """Placeholder until the home-visit domain registers its task sweep."""
    return {"home_visit_tasks_created": 0}


@register("reminders")
def _reminders(ctx: SweepContext) -> dict[str, int]:
    return reminders.sweep_reminders(session=ctx.session, settings=ctx.settings, now=ctx.now)


@register("suspensions")
def _suspensions(ctx: SweepContext) -> dict[str, int]:
    return suspension.sweep_suspensions(session=ctx.session, settings=ctx.settings, now=ctx.now)


@register("outbox", every_minutes=5)
def _outbox(ctx: SweepContext) -> dict[str, int]:
    s = ctx.settings
    counts = outbox.send_pending(
        session=ctx.session,
        gateway=outbox.make_gateway(s),
        now=ctx.now,
        tz=s.timezone,
        quiet_start=s.sms_quiet_start_hour,
        quiet_end=s.sms_quiet_end_hour,
        max_attempts=s.sms_max_attempts,
    )
    return {f"outbox_{k}": v for k, v in counts.items()}


@register("purge_evidence")
def _purge_evidence(ctx: SweepContext) -> dict[str, int]:
    """Evidence past purge_after; rate-limit hits, idempotency records and codes past their retention."""
    return retention.purge(session=ctx.session, settings=ctx.settings, now=ctx.now)


@register("risk_rollup", every_minutes=10)
def _risk_rollup(ctx: SweepContext) -> dict[str, int]:
    """Rebuild the supervisors' per-community roll-up of the latest opened season, off the request path."""
    from certification import seasons
    from risk import service as risk

    season = seasons.current_season(session=ctx.session, today=seasons.local_date(ctx.now, ctx.settings.timezone))
    if season is None:
        return {"risk_rollup_communities": 0}
    count = risk.refresh_rollup(session=ctx.session, settings=ctx.settings, season_year=season.year, now=ctx.now)
    return {"risk_rollup_communities": count}
