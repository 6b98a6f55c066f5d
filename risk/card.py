"""The pensioner card the counter and supervisors open: status, season state, face enrolment, checks, visit task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certification import service as certification_service
from core.settings import Settings
from models import BiometricConsent, FaceTemplate, HomeVisitTask, Pensioner, Region, StaffUser, VerificationAttempt
from models.enums import TemplateKind

LAST_CHECKS = 5


@dataclass
class FaceState:
    """Whether reference photos are enrolled, since when, and the consent they rest on."""

    enrolled: bool
    enrolled_at: datetime | None
    templates: int
    consent_at: datetime | None
    consent_method: str | None


@dataclass
class Card:
    """Everything the counter card shows about one pensioner."""

    pensioner: Pensioner
    region_name: str
    status: certification_service.CertificationStatus
    face: FaceState
    checks: list[VerificationAttempt]
    task: HomeVisitTask | None
    task_staff: str | None


def face_state(*, session: Session, pensioner_id: int) -> FaceState:
    """The anchor templates (first enrolled, how many) and the live consent of one pensioner."""
    first, count = session.execute(
        select(func.min(FaceTemplate.created_at), func.count()).where(
            FaceTemplate.pensioner_id == pensioner_id, FaceTemplate.kind == TemplateKind.ANCHOR.value
        )
    ).one()
    consent = session.scalars(
        select(BiometricConsent)
        .where(BiometricConsent.pensioner_id == pensioner_id, BiometricConsent.withdrawn_at.is_(None))
        .order_by(BiometricConsent.given_at.desc())
        .limit(1)
    ).first()
    return FaceState(
        enrolled=bool(count),
        enrolled_at=first,
        templates=int(count or 0),
        consent_at=consent.given_at if consent else None,
        consent_method=consent.method if consent else None,
    )


def card(*, session: Session, settings: Settings, pensioner: Pensioner, now: datetime) -> Card:
    """The card of one pensioner (the caller has checked the scope)."""
    status = certification_service.certification_status(
        session=session, settings=settings, pensioner=pensioner, now=now
    )
    checks = session.scalars(
        select(VerificationAttempt)
        .where(VerificationAttempt.pensioner_id == pensioner.id)
        .order_by(VerificationAttempt.at.desc(), VerificationAttempt.id.desc())
        .limit(LAST_CHECKS)
    ).all()
    task_query = select(HomeVisitTask).where(HomeVisitTask.pensioner_id == pensioner.id)
    if status.season_year is not None:
        task_query = task_query.where(HomeVisitTask.season_year == status.season_year)
    task = session.scalars(task_query.order_by(HomeVisitTask.id.desc()).limit(1)).first()
    staff = session.get(StaffUser, task.assigned_staff_id) if task and task.assigned_staff_id else None
    region = session.get(Region, pensioner.region_code)
    return Card(
        pensioner=pensioner,
        region_name=region.name if region else pensioner.region_code,
        status=status,
        face=face_state(session=session, pensioner_id=pensioner.id),
        checks=list(checks),
        task=task,
        task_staff=(staff.display_name or staff.username) if staff else None,
    )
