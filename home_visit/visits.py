"""Recording a visit: input validation, GPS and photo checks, and what each outcome changes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import lifecycle, seasons
from certification import service as certification_service
from core import audit
from core.errors import DomainError
from core.settings import Settings
from faces import evidence as evidence_service
from faces import service as face_service
from home_visit import errors
from home_visit.addresses import target_point
from home_visit.assignment import assign_one, notify_assigned
from home_visit.tasks import OPEN, close_task, reschedule_task, revisit_date
from models import Certification, HomeVisit, HomeVisitTask, Pensioner, Region, ResidenceTransfer, StaffUser
from models.enums import (
    CertificationChannel,
    HomeVisitTaskStatus,
    PhotoMissingReason,
    PositionMissingReason,
    RegionLevel,
    TemplateSource,
    TransferStatus,
    VisitOutcome,
)
from registry import regions as region_service
from verification.image import sniff_format

FORM_SCAN_TYPES = {"PDF": "application/pdf", "JPEG": "image/jpeg", "PNG": "image/png"}
AWAITING_REVIEW = "awaiting_review"  # close reason of a task whose visit waits for the supervisor


@dataclass
class VisitInput:
    """What the field app sends with a visit."""

    outcome: str
    visited_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo: bytes | None = None
    form_scan: bytes | None = None
    death_date: date | None = None
    new_region_code: str | None = None
    next_due_date: date | None = None
    consent_recorded: bool = False
    note: str | None = None
    # A "deceased" visit's evidence: a death certificate scan, or a family statement with a photo of the document.
    death_certificate: bytes | None = None
    family_statement: bytes | None = None
    document_photo: bytes | None = None
    # The device's accuracy (m); why the position or the photo/scan is missing (denied, inaccurate, …).
    position_accuracy_m: float | None = None
    position_missing_reason: str | None = None
    photo_missing_reason: str | None = None

    def fingerprint_parts(self) -> list[str]:
        """The request's meaningful parts, for the idempotency fingerprint."""
        return [
            self.outcome,
            self.visited_at.isoformat() if self.visited_at else "",
            repr(self.latitude),
            repr(self.longitude),
            _sha(self.photo) or "",
            _sha(self.form_scan) or "",
            self.death_date.isoformat() if self.death_date else "",
            self.new_region_code or "",
            self.next_due_date.isoformat() if self.next_due_date else "",
            str(self.consent_recorded),
            self.note or "",
            _sha(self.death_certificate) or "",
            _sha(self.family_statement) or "",
            _sha(self.document_photo) or "",
            repr(self.position_accuracy_m),
            self.position_missing_reason or "",
            self.photo_missing_reason or "",
        ]


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data else None


def validate_visit(*, data: VisitInput, settings: Settings, now: datetime) -> None:
    """Refuse bad input before anything is written (422 with a stable code)."""
    if data.outcome not in {o.value for o in VisitOutcome}:
        raise errors.InvalidOutcome()
    if (data.latitude is None) != (data.longitude is None):
        raise errors.GpsIncomplete()
    if (
        data.latitude is not None
        and data.longitude is not None
        and (not -90 <= data.latitude <= 90 or not -180 <= data.longitude <= 180)
    ):
        raise errors.GpsOutOfRange()
    if data.visited_at is not None and data.visited_at > now + timedelta(minutes=10):
        raise errors.VisitedAtInFuture()
    if data.form_scan is not None and form_scan_type(data.form_scan) is None:
        raise errors.InvalidFormScan()
    if data.photo is not None and sniff_format(data.photo) is None:
        raise errors.InvalidPhoto()
    _validate_reasons(data)
    if data.outcome == VisitOutcome.CERTIFIED.value and data.photo_missing_reason is None:
        # Without a camera (denied, broken) the page says why: the visit is kept and goes to review instead.
        if data.photo is None:
            raise errors.PhotoRequired()
        if data.form_scan is None:
            raise errors.FormScanRequired()
    _validate_death(data=data, settings=settings, now=now)


def _validate_reasons(data: VisitInput) -> None:
    """The accuracy is a non-negative number of metres; the missing reasons come from the published lists."""
    if data.position_accuracy_m is not None and not 0 <= data.position_accuracy_m < 1e7:
        raise errors.GpsOutOfRange()
    if data.position_missing_reason is not None and data.position_missing_reason not in {
        r.value for r in PositionMissingReason
    }:
        raise errors.InvalidMissingReason()
    if data.photo_missing_reason is not None and data.photo_missing_reason not in {r.value for r in PhotoMissingReason}:
        raise errors.InvalidMissingReason()


def _validate_death(*, data: VisitInput, settings: Settings, now: datetime) -> None:
    """A death needs its date (not in the future) and documents: a certificate, or a statement and a photo."""
    for document in (data.death_certificate, data.family_statement, data.document_photo):
        if document is not None and form_scan_type(document) is None:
            raise errors.InvalidDeathDocument()
    if data.outcome == VisitOutcome.DECEASED.value:
        if data.death_date is None:
            raise errors.DeathDateRequired()
        if data.death_certificate is None and (data.family_statement is None or data.document_photo is None):
            raise errors.DeathEvidenceRequired()
    if data.death_date is not None and data.death_date > seasons.local_date(now, settings.timezone):
        raise errors.DeathDateInFuture()


def check_assigned(*, task: HomeVisitTask, staff: StaffUser) -> None:
    """Only the task's assignee records a visit; anyone else takes the task over first (audited)."""
    if task.assigned_staff_id != staff.id:
        raise errors.TaskNotAssigned()


def form_scan_type(data: bytes) -> str | None:
    """MIME type of a form scan from its magic bytes (PDF, JPEG, PNG), else None."""
    if data.startswith(b"%PDF-"):
        return FORM_SCAN_TYPES["PDF"]
    fmt = sniff_format(data)
    return FORM_SCAN_TYPES[fmt] if fmt else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def gps_flags(
    *,
    settings: Settings,
    latitude: float | None,
    longitude: float | None,
    address: tuple[float, float] | None = None,
    accuracy_m: float | None = None,
) -> list[str]:
    """Review reasons from the GPS fix: missing, inaccurate, outside the city, or too far from the address."""
    if latitude is None or longitude is None:
        return ["gps_missing"]
    box = settings.home_visit_bbox
    if box and not (box[0] <= latitude <= box[2] and box[1] <= longitude <= box[3]):
        return ["gps_outside_city"]
    flags = []
    if accuracy_m is not None and accuracy_m > settings.home_visit_gps_max_accuracy_m:
        flags.append("gps_inaccurate")
    if address is not None and distance_km(latitude, longitude, *address) > settings.home_visit_gps_max_km:
        flags.append("gps_far_from_address")
    return flags


def find_duplicate(
    *, session: Session, settings: Settings, task: HomeVisitTask, data: VisitInput, now: datetime
) -> None:
    """The same visit sent again from another device (another key): same task, outcome, and close in time; told."""
    visited = data.visited_at or now
    window = timedelta(minutes=settings.home_visit_duplicate_minutes)
    earlier = session.scalar(
        select(HomeVisit)
        .where(
            HomeVisit.task_id == task.id,
            HomeVisit.outcome == data.outcome,
            HomeVisit.visited_at >= visited - window,
            HomeVisit.visited_at <= visited + window,
        )
        .order_by(HomeVisit.id)
        .limit(1)
    )
    if earlier is not None:
        raise errors.VisitAlreadyRecorded(
            detail={
                "visit_id": earlier.id,
                "staff_id": earlier.staff_id,
                "visited_at": earlier.visited_at.isoformat(),
                "recorded_at": earlier.recorded_at.isoformat(),
                "outcome": earlier.outcome,
            }
        )


@dataclass
class PhotoCheck:
    """What the visit photo showed."""

    decision: str  # match / retry / no_match / no_face … / enrolled / not_enrolled
    distance: float | None = None
    attempt_id: int | None = None
    template_enrolled: bool = False
    reasons: list[str] = field(default_factory=list)


def check_photo(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    photo: bytes,
    staff_id: int,
    now: datetime,
    season_year: int | None,
    enrol_if_missing: bool,
) -> PhotoCheck:
    """Match the visit photo against the templates; with none, enrol it when consent was recorded."""
    try:
        outcome = face_service.verify_photo(
            session=session,
            settings=settings,
            pensioner_id=pensioner_id,
            photo=photo,
            channel=CertificationChannel.HOME_VISIT.value,
            staff_id=staff_id,
            now=now,
            season_year=season_year,
        )
    except face_service.NotEnrolled:
        if not enrol_if_missing:
            return PhotoCheck("not_enrolled", reasons=["no_template"])
        try:
            face_service.enrol(
                session=session,
                settings=settings,
                pensioner_id=pensioner_id,
                photos=[photo],
                source=TemplateSource.HOME_VISIT.value,
                consent_method="home_visit_form",
                staff_id=staff_id,
                now=now,
            )
        except DomainError as exc:
            return PhotoCheck("not_enrolled", reasons=["no_template", exc.code])
        return PhotoCheck("enrolled", template_enrolled=True, reasons=["no_template"])
    except face_service.FaceRejected as exc:
        return PhotoCheck(exc.code, reasons=[exc.code])
    attempt = outcome.attempt
    return PhotoCheck(attempt.decision, attempt.distance, attempt.id, reasons=list(outcome.reasons))


def record_visit(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
) -> HomeVisit:
    """Record one visit and apply its outcome; flags it for supervisor review when the evidence is weak.

    Only the assignee records (403 otherwise). A death, a move out of the city and a certification whose photo
    did not match change nothing for good: they wait for the supervisor (`awaiting_review` in the effect).
    """
    validate_visit(data=data, settings=settings, now=now)
    if task.assigned_staff_id == staff.id:  # the assignee's second device is told its visit is already in
        find_duplicate(session=session, settings=settings, task=task, data=data, now=now)
    if task.status != OPEN:
        raise errors.TaskClosed()
    check_assigned(task=task, staff=staff)
    pensioner = session.get(Pensioner, task.pensioner_id, with_for_update=True)
    assert pensioner is not None
    target = target_point(session=session, pensioner=pensioner)
    review: list[str] = gps_flags(
        settings=settings,
        latitude=data.latitude,
        longitude=data.longitude,
        address=target[:2] if target else None,
        accuracy_m=data.position_accuracy_m,
    )
    visit = _new_visit(task=task, staff=staff, data=data, now=now)
    _store_form_scan(session=session, settings=settings, visit=visit, pensioner=pensioner, data=data, now=now)
    _store_death_evidence(session=session, settings=settings, visit=visit, pensioner=pensioner, data=data, now=now)
    photo_review = _check_visit_photo(
        session=session, settings=settings, visit=visit, task=task, staff=staff, data=data, now=now
    ) + _missing_evidence(data)
    review += photo_review
    session.add(visit)
    session.flush()
    effect = apply_outcome(
        session=session,
        settings=settings,
        task=task,
        pensioner=pensioner,
        visit=visit,
        staff=staff,
        data=data,
        now=now,
        photo_review=photo_review,
    )
    _finish(session=session, visit=visit, task=task, staff=staff, review=review, effect=effect)
    return visit


def _new_visit(*, task: HomeVisitTask, staff: StaffUser, data: VisitInput, now: datetime) -> HomeVisit:
    """The visit row as sent (position, accuracy, missing reasons, note)."""
    return HomeVisit(
        task_id=task.id,
        staff_id=staff.id,
        visited_at=data.visited_at or now,
        recorded_at=now,
        outcome=data.outcome,
        latitude=data.latitude,
        longitude=data.longitude,
        position_accuracy_m=data.position_accuracy_m,
        position_missing_reason=data.position_missing_reason,
        photo_missing_reason=data.photo_missing_reason,
        detail={"note": data.note} if data.note else {},
    )


def _missing_evidence(data: VisitInput) -> list[str]:
    """A certification without its photo or form scan (the camera was denied): it waits for the supervisor."""
    if data.outcome != VisitOutcome.CERTIFIED.value:
        return []
    missing = ["photo_missing"] if data.photo is None else []
    return missing + (["form_scan_missing"] if data.form_scan is None else [])


def _finish(
    *,
    session: Session,
    visit: HomeVisit,
    task: HomeVisitTask,
    staff: StaffUser,
    review: list[str],
    effect: dict[str, Any],
) -> None:
    """The visit's review flags and effect, and its audit event."""
    if visit.outcome == VisitOutcome.REFUSED.value:
        review.append("refused")
    waiting = effect.get(AWAITING_REVIEW)
    if waiting and waiting not in review:
        review.append(waiting)
    visit.needs_review = bool(review)
    visit.review_reasons = review or None
    visit.detail = {**(visit.detail or {}), "effect": effect}
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff.id,
        action="home_visit.recorded",
        target_type="home_visit",
        target_id=visit.id,
        detail={"task_id": task.id, "outcome": visit.outcome, "review_reasons": review, **effect},
    )
    session.flush()


def _store_form_scan(
    *, session: Session, settings: Settings, visit: HomeVisit, pensioner: Pensioner, data: VisitInput, now: datetime
) -> None:
    """Keep the signed form's scan as evidence, when one was sent."""
    if data.form_scan is None:
        return
    content_type = form_scan_type(data.form_scan)
    assert content_type is not None
    scan = evidence_service.store_evidence(
        session=session,
        settings=settings,
        pensioner_id=pensioner.id,
        kind="visit_form_scan",
        data=data.form_scan,
        content_type=content_type,
        now=now,
    )
    visit.form_scan_sha256 = _sha(data.form_scan)
    visit.form_scan_evidence_id = scan.id


DEATH_DOCUMENTS = (
    ("death_certificate", "death_certificate"),
    ("family_statement", "family_statement"),
    ("document_photo", "death_document_photo"),
)


def _store_death_evidence(
    *, session: Session, settings: Settings, visit: HomeVisit, pensioner: Pensioner, data: VisitInput, now: datetime
) -> None:
    """Keep a death's documents as evidence (encrypted); the visit names them and their hashes."""
    if data.outcome != VisitOutcome.DECEASED.value:
        return
    stored: dict[str, Any] = {}
    for field_name, kind in DEATH_DOCUMENTS:
        document: bytes | None = getattr(data, field_name)
        if document is None:
            continue
        content_type = form_scan_type(document)
        assert content_type is not None
        ev = evidence_service.store_evidence(
            session=session,
            settings=settings,
            pensioner_id=pensioner.id,
            kind=kind,
            data=document,
            content_type=content_type,
            now=now,
        )
        stored[kind] = {"evidence_id": ev.id, "sha256": _sha(document)}
    visit.detail = {**(visit.detail or {}), "death_evidence": stored}


def _check_visit_photo(
    *,
    session: Session,
    settings: Settings,
    visit: HomeVisit,
    task: HomeVisitTask,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
) -> list[str]:
    """Match (or enrol) the visit photo and keep it as evidence; returns the review reasons it gives."""
    if data.photo is None:
        return []
    certifying = data.outcome == VisitOutcome.CERTIFIED.value
    check = check_photo(
        session=session,
        settings=settings,
        pensioner_id=task.pensioner_id,
        photo=data.photo,
        staff_id=staff.id,
        now=now,
        season_year=task.season_year,
        enrol_if_missing=certifying and data.consent_recorded,
    )
    photo_ev = evidence_service.store_evidence(
        session=session,
        settings=settings,
        pensioner_id=task.pensioner_id,
        kind="visit_photo",
        data=data.photo,
        content_type="image/jpeg" if sniff_format(data.photo) == "JPEG" else "image/png",
        now=now,
    )
    visit.photo_sha256 = _sha(data.photo)
    visit.photo_distance = check.distance
    visit.photo_decision = check.decision
    visit.detail = {
        **(visit.detail or {}),
        "photo_evidence_id": photo_ev.id,
        "photo_attempt_id": check.attempt_id,
        "photo_reasons": check.reasons,
        "template_enrolled": check.template_enrolled,
    }
    if certifying and check.decision != "match":
        return ["photo_enrolled_unmatched" if check.template_enrolled else f"photo_{check.decision}"]
    return []


def apply_outcome(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    pensioner: Pensioner,
    visit: HomeVisit,
    staff: StaffUser,
    data: VisitInput,
    now: datetime,
    photo_review: list[str] | None = None,
) -> dict[str, Any]:
    """Carry out the visit's outcome on the task, the pensioner and the season; returns what it changed."""
    outcome = VisitOutcome(data.outcome)
    if outcome is VisitOutcome.CERTIFIED:
        if photo_review:  # an unmatched photo certifies (and reinstates) only once a supervisor approves
            close_task(task, now=now, status=HomeVisitTaskStatus.DONE.value, reason=AWAITING_REVIEW)
            return {AWAITING_REVIEW: photo_review[0]}
        cert = certify_visit(session=session, settings=settings, visit=visit, now=now)
        close_task(task, now=now, status=HomeVisitTaskStatus.DONE.value, reason="certified")
        return {"certification_id": cert.id}
    if outcome is VisitOutcome.DECEASED:
        assert data.death_date is not None
        return _deceased(
            session=session,
            settings=settings,
            task=task,
            pensioner=pensioner,
            visit=visit,
            death_date=data.death_date,
            now=now,
        )
    if outcome in (VisitOutcome.NOT_AT_HOME, VisitOutcome.HOSPITALISED):
        return _visit_again(settings=settings, task=task, next_due_date=data.next_due_date, now=now)
    if outcome is VisitOutcome.MOVED:
        return _moved(
            session=session,
            settings=settings,
            task=task,
            pensioner=pensioner,
            visit=visit,
            new_region_code=data.new_region_code,
            now=now,
        )
    close_task(task, now=now, status=HomeVisitTaskStatus.DONE.value, reason="refused")
    return {}


def certify_visit(
    *, session: Session, settings: Settings, visit: HomeVisit, now: datetime, approved_by: int | None = None
) -> Certification:
    """The season's certification made by a visit (at once, or when a supervisor approves a flagged one)."""
    task = session.get(HomeVisitTask, visit.task_id)
    visitor = session.get(StaffUser, visit.staff_id)
    assert task is not None and visitor is not None
    evidence: dict[str, Any] = {"home_visit_id": visit.id, "photo_decision": visit.photo_decision}
    if approved_by is not None:
        evidence["approved_by_staff_id"] = approved_by
    return certification_service.record_certification(
        session=session,
        pensioner_id=task.pensioner_id,
        channel=CertificationChannel.HOME_VISIT.value,
        now=visit.visited_at if visit.visited_at <= now else now,
        staff_id=visitor.id,
        home_visit_id=visit.id,
        office_region_code=visitor.region_code,
        source="home_visit",
        evidence=evidence,
        settings=settings,
    )


def _deceased(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    pensioner: Pensioner,
    visit: HomeVisit,
    death_date: date,
    now: datetime,
) -> dict[str, Any]:
    """A reported death holds the pension (lifecycle); a supervisor's approval ends it, a rejection restores it."""
    hold = lifecycle.hold_on_reported_death(
        session=session,
        settings=settings,
        pensioner=pensioner,
        death_date=death_date,
        now=now,
        staff_id=visit.staff_id,
        home_visit_id=visit.id,
    )
    close_task(task, now=now, status=HomeVisitTaskStatus.DONE.value, reason=AWAITING_REVIEW)
    return {
        "pension_on_hold": True,
        "hold_id": hold.id,
        "held_from": hold.effective_date.isoformat(),
        "death_date": death_date.isoformat(),
        AWAITING_REVIEW: "deceased_reported",
    }


def _visit_again(
    *, settings: Settings, task: HomeVisitTask, next_due_date: date | None, now: datetime
) -> dict[str, Any]:
    """Not at home or in hospital: the task stays open, due again on the given date or a few days later."""
    next_due = next_due_date or revisit_date(settings=settings, now=now)
    if next_due < seasons.local_date(now, settings.timezone):
        raise errors.NextDueDateInPast()
    reschedule_task(task, due_date=next_due, now=now)
    return {"next_due_date": next_due.isoformat()}


def _city_of(session: Session, region: Region) -> str | None:
    """The city a region belongs to, walking the region tree up."""
    current: Region | None = region
    while current is not None and current.level != RegionLevel.CITY.value:
        current = session.get(Region, current.parent_code) if current.parent_code else None
    return current.code if current is not None else None


def _moved(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    pensioner: Pensioner,
    visit: HomeVisit,
    new_region_code: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Within the city: the residence and the task move. Otherwise a transfer is recorded and goes to review."""
    code = region_service.normalise_code(new_region_code) if new_region_code else None
    region = session.get(Region, code) if code else None
    if (
        region is not None
        and region.level == RegionLevel.COMMUNITY.value
        and _city_of(session, region) == pensioner.city_code
    ):
        return _moved_within_city(
            session=session, settings=settings, task=task, pensioner=pensioner, visit=visit, region=region, now=now
        )
    transfer = ResidenceTransfer(
        pensioner_id=pensioner.id,
        home_visit_id=visit.id,
        from_region_code=pensioner.region_code,
        to_region_code=code,
        paying_region_code=pensioner.paying_region_code,
        reported_at=now,
        reported_by_staff_id=visit.staff_id,
        status=TransferStatus.PENDING.value,
    )
    session.add(transfer)
    session.flush()
    close_task(task, now=now, status=HomeVisitTaskStatus.DONE.value, reason=AWAITING_REVIEW)
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=visit.staff_id,
        action="pensioner.transfer_reported",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"transfer_id": transfer.id, "from": pensioner.region_code, "to": code, "task_id": task.id},
    )
    return {
        "transfer_id": transfer.id,
        "new_region_code": code,
        "paying_region_code": pensioner.paying_region_code,
        AWAITING_REVIEW: "moved_out_of_city",
    }


def _moved_within_city(
    *,
    session: Session,
    settings: Settings,
    task: HomeVisitTask,
    pensioner: Pensioner,
    visit: HomeVisit,
    region: Region,
    now: datetime,
) -> dict[str, Any]:
    """The residence (and town, district) follow the new community of the same city; the task is reassigned."""
    old = pensioner.region_code
    town = session.get(Region, region.parent_code) if region.parent_code else None
    district = session.get(Region, town.parent_code) if town and town.parent_code else None
    pensioner.region_code = region.code
    pensioner.town_code = town.code if town else None
    pensioner.district_code = district.code if district else None
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=visit.staff_id,
        action="pensioner.residence_changed",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"from": old, "to": region.code, "by": "home_visit", "task_id": task.id},
    )
    session.flush()
    previous = task.assigned_staff_id
    task.assigned_staff_id = None
    assign_one(session=session, task=task, pensioner=pensioner)
    reschedule_task(task, due_date=revisit_date(settings=settings, now=now), now=now)
    notify_assigned(session=session, settings=settings, task=task, now=now)
    return {"moved_to": region.code, "reassigned_from": previous, "reassigned_to": task.assigned_staff_id}
