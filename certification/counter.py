"""Certification in person at any office of the city, on a face check made there minutes before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import service as certification_service
from certification.errors import FaceCheckNotUsable, FaceCheckRequired
from core.settings import Settings
from models import Certification, Pensioner, StaffUser, VerificationAttempt
from models.enums import AttemptDecision, CertificationChannel
from registry.deps import city_of
from registry.errors import PensionerNotFound


@dataclass(frozen=True)
class CounterOutcome:
    """The season's certification and whether it existed before this request."""

    certification: Certification
    already_certified: bool


def _face_check(
    *, session: Session, settings: Settings, pensioner: Pensioner, attempt_id: int | None, now: datetime
) -> VerificationAttempt:
    """The matched counter check of this pensioner, recent and not used by another certification."""
    if attempt_id is None:
        raise FaceCheckRequired()
    attempt = session.get(VerificationAttempt, attempt_id)
    if attempt is None:
        raise FaceCheckNotUsable("not_found")
    if attempt.pensioner_id != pensioner.id:
        raise FaceCheckNotUsable("other_pensioner")
    if attempt.channel != CertificationChannel.COUNTER.value:
        raise FaceCheckNotUsable("not_at_counter")
    if attempt.decision != AttemptDecision.MATCH.value:
        raise FaceCheckNotUsable("not_matched")
    at = attempt.at if attempt.at.tzinfo else attempt.at.replace(tzinfo=now.tzinfo)
    if at < now - timedelta(minutes=settings.counter_face_check_minutes):
        raise FaceCheckNotUsable("expired")
    return attempt


def certify(
    *, session: Session, settings: Settings, staff: StaffUser, national_id: str, attempt_id: int | None, now: datetime
) -> CounterOutcome:
    """Certify the person the clerk's face check matched; say so when the season was already certified."""
    pensioner = session.scalar(select(Pensioner).where(Pensioner.national_id == national_id))
    if pensioner is None or pensioner.city_code != city_of(staff.region_code):
        raise PensionerNotFound()
    attempt = _face_check(session=session, settings=settings, pensioner=pensioner, attempt_id=attempt_id, now=now)
    before = set(session.scalars(select(Certification.id).where(Certification.pensioner_id == pensioner.id)))
    cert = certification_service.record_certification(
        session=session,
        pensioner_id=pensioner.id,
        channel=CertificationChannel.COUNTER.value,
        now=now,
        attempt_id=attempt.id,
        staff_id=staff.id,
        office_region_code=staff.region_code,
        settings=settings,
    )
    return CounterOutcome(certification=cert, already_certified=cert.id in before)
