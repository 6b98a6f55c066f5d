"""What the scheduler calls in the certification domain: reminders and suspensions."""

from __future__ import annotations

from certification import reminders, suspension
from core.jobs import SweepContext


def sweep_reminders(ctx: SweepContext) -> dict[str, int]:
    """Queue the reminders due today."""
    return reminders.sweep_reminders(session=ctx.session, settings=ctx.settings, now=ctx.now)


def sweep_suspensions(ctx: SweepContext) -> dict[str, int]:
    """Suspend those whose window closed without a certification."""
    return suspension.sweep_suspensions(session=ctx.session, settings=ctx.settings, now=ctx.now)


def sweep_suspension_notices(ctx: SweepContext) -> dict[str, int]:
    """Tell the people suspended in the last few days (and their family, for 80+/bedridden)."""
    return suspension.sweep_suspension_notices(session=ctx.session, settings=ctx.settings, now=ctx.now)
