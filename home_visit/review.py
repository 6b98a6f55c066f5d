"""Supervisor review of flagged visits: the queue and the decision, which carries out or undoes the outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import lifecycle
from certification import service as certification_service
from core import audit
from core.settings import Settings
from home_visit import errors
from home_visit.tasks import OPEN, close_task, reschedule_task, revisit_date, task_scope
from home_visit.visits import AWAITING_REVIEW, certify_visit
from models import Certification, HomeVisit, HomeVisitTask, Pensioner, PensionHold, Region, ResidenceTransfer, StaffUser
from models.enums import HoldDecision, HomeVisitTaskStatus, TransferStatus, VisitOutcome
from registry import regions as region_service

WITHDRAWN_ON_REVIEW = "上门认证复核未通过 / home-visit review rejected"


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
    """Accept a flagged visit (a held outcome is carried out) or reject it (what it changed is undone, task reopened)."""
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
    if visit.staff_id == reviewer.id:
        raise errors.OwnVisitReview()
    task = session.get(HomeVisitTask, visit.task_id, with_for_update=True)
    assert task is not None
    ctx = _Review(session, settings, visit, task, region, reviewer, note, now)
    effect = ctx.accept() if decision == "accepted" else ctx.reject()
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


class _Review:
    """One review decision: what accepting or rejecting a visit does, by its outcome."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        visit: HomeVisit,
        task: HomeVisitTask,
        region: Region,
        reviewer: StaffUser,
        note: str | None,
        now: datetime,
    ) -> None:
        self.session, self.settings, self.visit, self.task = session, settings, visit, task
        self.region, self.reviewer, self.note, self.now = region, reviewer, note, now
        self.effect: dict[str, Any] = (visit.detail or {}).get("effect", {})

    def accept(self) -> dict[str, Any]:
        """Carry out what waited for the supervisor: the certification, the death, the transfer."""
        outcome = self.visit.outcome
        if outcome == VisitOutcome.CERTIFIED.value and self.effect.get(AWAITING_REVIEW):
            cert = certify_visit(
                session=self.session,
                settings=self.settings,
                visit=self.visit,
                now=self.now,
                approved_by=self.reviewer.id,
            )
            close_task(self.task, now=self.now, status=HomeVisitTaskStatus.DONE.value, reason="certified")
            return {"certification_id": cert.id}
        if outcome == VisitOutcome.DECEASED.value and (hold := self._hold()) is not None:
            if hold.decision == HoldDecision.TERMINATED.value:  # the deaths import got there first
                return {"pension_terminated": True}
            death = lifecycle.confirm_death(
                session=self.session,
                settings=self.settings,
                hold=hold,
                now=self.now,
                staff_id=self.reviewer.id,
                note=self.note,
            )
            close_task(self.task, now=self.now, status=HomeVisitTaskStatus.DONE.value, reason="deceased")
            return {"pension_terminated": True, "overpaid_months": death["overpaid_months"]}
        if (transfer := self._transfer()) is not None:
            return self._confirm_transfer(transfer)
        return {}

    def reject(self) -> dict[str, Any]:
        """Undo what the visit changed: withdraw its certification, release the hold, drop the transfer; reopen."""
        outcome = self.visit.outcome
        effect: dict[str, Any] = {}
        if outcome == VisitOutcome.CERTIFIED.value:
            cert = self.session.scalar(
                select(Certification).where(
                    Certification.home_visit_id == self.visit.id, Certification.withdrawn_at.is_(None)
                )
            )
            if cert is not None:
                certification_service.withdraw_certification(
                    session=self.session,
                    settings=self.settings,
                    certification_id=cert.id,
                    region=self.region,
                    staff=self.reviewer,
                    reason=self.note or WITHDRAWN_ON_REVIEW,
                    now=self.now,
                )
                effect["certification_withdrawn"] = cert.id
        elif outcome == VisitOutcome.DECEASED.value and (hold := self._hold()) is not None:
            lifecycle.release_hold(
                session=self.session,
                settings=self.settings,
                hold=hold,
                now=self.now,
                staff_id=self.reviewer.id,
                note=self.note,
            )
            effect["hold_released"] = hold.id
        elif (transfer := self._transfer()) is not None:
            self._decide_transfer(transfer, TransferStatus.REJECTED)
            effect["transfer_rejected"] = transfer.id
        if outcome in (VisitOutcome.CERTIFIED.value, VisitOutcome.DECEASED.value, VisitOutcome.MOVED.value):
            self._reopen()
            effect["task_reopened"] = self.task.id
        return effect

    def _hold(self) -> PensionHold | None:
        return self.session.scalar(select(PensionHold).where(PensionHold.home_visit_id == self.visit.id))

    def _transfer(self) -> ResidenceTransfer | None:
        transfer_id = self.effect.get("transfer_id")
        return self.session.get(ResidenceTransfer, transfer_id, with_for_update=True) if transfer_id else None

    def _decide_transfer(self, transfer: ResidenceTransfer, status: TransferStatus) -> None:
        if transfer.status != TransferStatus.PENDING.value:
            raise errors.NotAwaitingReview()
        transfer.status, transfer.decided_at, transfer.decided_by_staff_id = status.value, self.now, self.reviewer.id

    def _confirm_transfer(self, transfer: ResidenceTransfer) -> dict[str, Any]:
        """The move out of the city stands: the paying region is told, the task is cancelled."""
        self._decide_transfer(transfer, TransferStatus.CONFIRMED)
        close_task(self.task, now=self.now, status=HomeVisitTaskStatus.CANCELLED.value, reason="moved_away")
        audit.record(
            session=self.session,
            actor_type="staff",
            actor_id=self.reviewer.id,
            action="home_visit.paying_region_notified",
            target_type="pensioner",
            target_id=transfer.pensioner_id,
            detail={
                "transfer_id": transfer.id,
                "paying_region_code": transfer.paying_region_code,
                "new_region_code": transfer.to_region_code,
                "task_id": self.task.id,
            },
        )
        return {"transfer_confirmed": transfer.id}

    def _reopen(self) -> None:
        self.task.status, self.task.closed_at, self.task.close_reason = OPEN, None, None
        reschedule_task(self.task, due_date=revisit_date(settings=self.settings, now=self.now), now=self.now)
