"""The suspension sweep (pending past close + grace → suspended, two set-based statements and one audit event per
cohort) and the suspension-notice sweep that follows it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from core import audit
from core.settings import Settings
from messaging import notices
from models import Reinstatement, Suspension


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
        count = lifecycle.suspend_cohort(
            session=session,
            where=cohort.where,
            season_year=cohort.window.season_year,
            effective_date=cohort.window.suspend_from_date,
            now=now,
            require_uncertified=require_uncertified,
            region_code=cohort.window.label,
        )
        suspended += count
    session.flush()
    return {"suspended": suspended}


def sweep_suspension_notices(*, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Suspension notices (one INSERT … SELECT per effective month) to everyone suspended in the last few days
    and still suspended; the outbox's unique key makes a re-run queue nothing twice.

    Its own sweep, not part of the suspension sweep: queuing ~1.35M notices doubled that sweep's time (docs/seasons.md).
    """
    since = now - timedelta(days=settings.suspension_notice_max_age_days)
    recent = and_(Suspension.reinstated_at.is_(None), Suspension.suspended_at >= since, Suspension.suspended_at <= now)
    groups = session.execute(select(Suspension.season_year, Suspension.effective_date).where(recent).distinct()).all()
    queued = 0
    for season_year, effective_date in groups:
        suspended = select(Suspension.pensioner_id).where(
            Suspension.season_year == season_year, Suspension.effective_date == effective_date, recent
        )
        queued += notices.queue_suspension_notices(
            session=session,
            settings=settings,
            pensioner_ids=suspended,
            season_year=season_year,
            effective_date=effective_date,
            now=now,
        )
    session.flush()
    return {"suspension_notices_queued": queued}


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
        notices.queue_reinstatement_notices(
            session=session,
            settings=settings,
            pensioner_ids=select(Reinstatement.pensioner_id).where(Reinstatement.recorded_at == now),
            now=now,
            certified=False,
        )
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
