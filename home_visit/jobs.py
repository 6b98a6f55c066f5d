"""What the scheduler calls in the home-visit domain: the daily task sweep."""

from __future__ import annotations

from core.jobs import SweepContext
from home_visit import service as home_visit_service


def sweep_home_visits(ctx: SweepContext) -> dict[str, int]:
    """Create due tasks (set-based), assign them, escalate overdue ones; returns counters."""
    return home_visit_service.sweep(session=ctx.session, settings=ctx.settings, now=ctx.now).as_dict()
