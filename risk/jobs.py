"""What the scheduler calls in the risk domain: the supervisors' roll-up."""

from __future__ import annotations

from certification import seasons
from core.jobs import SweepContext
from risk import rollup as rollup_service


def refresh_rollup(ctx: SweepContext) -> dict[str, int]:
    """Rebuild the per-community roll-up of the latest opened season, off the request path."""
    season = seasons.current_season(session=ctx.session, today=seasons.local_date(ctx.now, ctx.settings.timezone))
    if season is None:
        return {"risk_rollup_communities": 0}
    count = rollup_service.refresh_rollup(
        session=ctx.session, settings=ctx.settings, season_year=season.year, now=ctx.now
    )
    return {"risk_rollup_communities": count}
