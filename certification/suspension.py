"""The suspension sweep: pending past close + grace → suspended, two set-based statements and one audit event per cohort."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from core.settings import Settings


def sweep_suspensions(*, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Suspend everyone still pending after their window's close + grace days."""
    today = seasons.local_date(now, settings.timezone)
    suspended = 0
    if settings.season_policy == "rolling":
        cohorts = seasons.rolling_cohorts(
            session=session,
            settings=settings,
            due_from=date(1900, 1, 1),
            due_to=today - timedelta(days=settings.season_grace_days + 1),
        )
        require_uncertified = False
    else:
        season = seasons.current_season(session=session, today=today)
        cohorts = seasons.window_cohorts(session=session, season=season, settings=settings) if season else []
        require_uncertified = True
    for cohort in cohorts:
        if today <= cohort.window.suspend_after:
            continue
        suspended += lifecycle.suspend_cohort(
            session=session,
            where=cohort.where,
            season_year=cohort.window.season_year,
            effective_date=cohort.window.suspend_from_date,
            now=now,
            require_uncertified=require_uncertified,
            region_code=cohort.window.label,
        )
    session.flush()
    return {"suspended": suspended}
