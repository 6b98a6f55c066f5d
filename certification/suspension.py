"""The suspension sweep: pending past close + grace → suspended, two set-based statements and one audit event per cohort."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from core import audit
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


def lift_after_window_change(
    *, session: Session, settings: Settings, year: int, now: datetime, actor_id: int | None
) -> int:
    """Reinstate people suspended before their window's new suspension date, while they are back inside it."""
    today = seasons.local_date(now, settings.timezone)
    season = seasons.get_season(session=session, year=year)
    lifted: list[int] = []
    for cohort in seasons.window_cohorts(session=session, season=season, settings=settings):
        if today >= cohort.window.suspend_from_date:
            continue  # still past the (new) date: the suspension stands, effective as it was
        lifted += lifecycle.lift_premature_suspensions(
            session=session,
            where=cohort.where,
            season_year=year,
            suspend_from=cohort.window.suspend_from_date,
            now=now,
            today=today,
            staff_id=actor_id,
        )
    if lifted:
        audit.record(
            session=session,
            actor_type="staff" if actor_id else "system",
            actor_id=actor_id,
            action="pension.suspensions_lifted",
            target_type="season",
            target_id=year,
            detail={"reason": "window_extended", "reinstated": len(lifted), "pensioner_ids": lifted},
        )
    session.flush()
    return len(lifted)
