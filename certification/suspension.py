"""The suspension sweep: pending past close + grace → suspended, two set-based statements and one audit event per cohort."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, literal, select, update
from sqlalchemy.orm import Session

from certification import seasons
from core import audit
from core.settings import Settings
from models import Certification, Pensioner, Suspension
from models.engine import dialect_insert
from models.enums import PensionStatus


def suspend_cohort(
    *,
    session: Session,
    where: ColumnElement[bool],
    season_year: int,
    effective_date: date,
    now: datetime,
    require_uncertified: bool = True,
    region_code: str | None = None,
) -> int:
    """Suspend every active, uncertified pensioner of a cohort; returns how many pensions were suspended."""
    active = [where, Pensioner.pension_status == PensionStatus.ACTIVE.value]
    if require_uncertified:
        active.append(
            ~exists().where(Certification.pensioner_id == Pensioner.id, Certification.season_year == season_year)
        )
    insert_suspensions = (
        dialect_insert(session, Suspension)
        .from_select(
            ["pensioner_id", "season_year", "effective_date", "suspended_at"],
            select(
                Pensioner.id,
                literal(season_year),
                literal(effective_date, Suspension.__table__.c.effective_date.type),
                literal(now, Suspension.__table__.c.suspended_at.type),
            ).where(and_(*active)),
        )
        .on_conflict_do_nothing(index_elements=["pensioner_id", "season_year"])
    )
    session.execute(insert_suspensions)
    open_suspension = exists().where(
        Suspension.pensioner_id == Pensioner.id,
        Suspension.season_year == season_year,
        Suspension.reinstated_at.is_(None),
    )
    # An open suspension implies no certification (certifying reinstates), so the flip needs no second
    # certification probe per pensioner.
    to_flip = and_(where, Pensioner.pension_status == PensionStatus.ACTIVE.value, open_suspension)
    result = session.execute(
        update(Pensioner)
        .where(to_flip)
        .values(pension_status=PensionStatus.SUSPENDED.value, status_since=effective_date, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        # Who was suspended is the suspension rows (suspended_at = this event's time); one event per cohort
        # keeps a million identical audit rows out of the log (docs/seasons.md).
        audit.record(
            session=session,
            actor_type="system",
            actor_id="sweep:suspensions",
            action="pension.suspended",
            target_type="suspension_batch",
            target_id=f"{season_year}:{region_code or 'city'}",
            detail={
                "season_year": season_year,
                "effective_date": effective_date.isoformat(),
                "region_code": region_code,
                "suspended": count,
                "suspended_at": now.astimezone(UTC).isoformat(),
            },
        )
    return count


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
        cohorts = seasons.window_cohorts(session=session, season=season) if season else []
        require_uncertified = True
    for cohort in cohorts:
        if today <= cohort.window.suspend_after:
            continue
        suspended += suspend_cohort(
            session=session,
            where=cohort.where,
            season_year=cohort.window.season_year,
            effective_date=cohort.window.suspend_from_date,
            now=now,
            require_uncertified=require_uncertified,
            region_code=cohort.window.region_code,
        )
    session.flush()
    return {"suspended": suspended}
