"""What the scheduler calls: the daily home-visit sweep, registered in the sweep registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.settings import Settings
from home_visit import service as home_visit_service
from scheduler import sweeps


def sweep_home_visits(*, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Create due tasks (set-based), assign them, escalate overdue ones; returns counters."""
    return home_visit_service.sweep(session=session, settings=settings, now=now).as_dict()


@sweeps.register("home_visits")
def _home_visits(ctx: sweeps.SweepContext) -> dict[str, int]:
    return sweep_home_visits(session=ctx.session, settings=ctx.settings, now=ctx.now)
