"""Supervisor review of flagged visits: the queue and the decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.settings import Settings
from home_visit import errors
from home_visit.tasks import OPEN, reschedule_task, revisit_date, task_scope
from models import Certification, HomeVisit, HomeVisitTask, Pensioner, Region, StaffUser
from models.enums import VisitOutcome
from registry import regions as region_service


def review_queue(
    *, session: Session, region: Region, limit: int = 200
) -> list[tuple[HomeVisit, HomeVisitTask, Pensioner]]:
    """Visits awaiting supervisor review in a jurisdiction, oldest first."""
    stmt = (
        select(HomeVisit, HomeVisitTask, Pensioner)
        .join(HomeVisitTask, HomeVisitTask.id == HomeVisit.task_id)
        .join(Pensioner, Pensioner.id == HomeVisitTask.pensioner_id)
        .where(HomeVisit.needs_review.is_(True), region_service.pensioner_scope(region))
        .order_by(HomeVisit.recorded_at, HomeVisit.id)
        .limit(limit)
    )
    return [(v, t, p) for v, t, p in session.execute(stmt).all()]


def review_visit(
    *,
    session: Session,
    settings: Settings,
    visit_id: int,
    region: Region,
    reviewer: StaffUser,
    decision: str,
    note: str | None,
    now: datetime,
) -> HomeVisit:
    """Accept a flagged visit, or reject it: a rejected certification is withdrawn and the task reopened."""
    visit = session.scalar(
        select(HomeVisit)
        .join(HomeVisitTask, HomeVisitTask.id == HomeVisit.task_id)
        .where(HomeVisit.id == visit_id, task_scope(region))
        .with_for_update()
    )
    if visit is None:
        raise errors.VisitNotFound()
    if not visit.needs_review:
        raise errors.NotAwaitingReview()
    task = session.get(HomeVisitTask, visit.task_id)
    assert task is not None
    effect: dict[str, Any] = {}
    if decision == "rejected" and visit.outcome == VisitOutcome.CERTIFIED.value:
        cert = session.scalar(select(Certification).where(Certification.home_visit_id == visit.id))
        if cert is not None:
            effect["certification_withdrawn"] = cert.id
            session.delete(cert)
        task.status, task.closed_at, task.close_reason = OPEN, None, None
        reschedule_task(task, due_date=revisit_date(settings=settings, now=now), now=now)
        effect["task_reopened"] = task.id
    visit.needs_review = False
    visit.reviewed_by_staff_id = reviewer.id
    visit.reviewed_at = now
    visit.detail = {**(visit.detail or {}), "review": {"decision": decision, "note": note, **effect}}
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=reviewer.id,
        action=f"home_visit.review_{decision}",
        target_type="home_visit",
        target_id=visit.id,
        detail={"note": note, "reasons": visit.review_reasons, **effect},
    )
    session.flush()
    return visit
