"""Face enrolment and counter verification (admin and counter staff, any office in the city)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from core.clock import NowDep
from core.deps import EnrolOrOverrideStaff, EnrolStaff, SessionDep, SettingsDep
from core.uploads import read_limited
from faces import liveness
from faces import service as face_service
from faces.schemas import AdviceOut, EnrolmentOut, ExemptionsIn, ExemptionsOut, FaceCheckOut, TemplatesDeletedOut
from faces.uniqueness import Override
from models.enums import CertificationChannel
from registry.deps import PensionerInCity

router = APIRouter(prefix="/pensioners/{pensioner_id}", tags=["faces"])


def match_body(outcome: face_service.VerifyOutcome) -> FaceCheckOut:
    """The JSON answer of a verification."""
    m = outcome.match
    return FaceCheckOut(
        attempt_id=outcome.attempt.id,
        decision=outcome.attempt.decision,
        distance=None if m is None else round(m.distance, 4),
        score=None if m is None else round(m.score, 4),
        reasons=outcome.reasons,
        advice=[AdviceOut(**a) for a in face_service.advice_for(outcome.reasons)],
        rolling_template_added=outcome.rolling_template_added,
    )


@router.put("/face")
def enrol_face(
    staff: EnrolOrOverrideStaff,
    pensioner: PensionerInCity,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    photos: Annotated[list[UploadFile], File(description="1–5 reference photos (JPEG/PNG)")],
    consent_method: Annotated[str, Form(description="paper_form, app_screen, home_visit_form or counter_signature")],
    source: Annotated[str, Form(description="counter, home_visit or id_photo")] = "counter",
    override_reason: Annotated[
        str | None,
        Form(
            max_length=500,
            description="Admins/supervisors only: enrol despite face_enrolled_elsewhere or face_mismatch_existing "
            "(audited)",
        ),
    ] = None,
) -> EnrolmentOut:
    """Enrol reference photos as anchor templates (one per face model), recording the biometric consent.

    One face, one pension: a face enrolled for another pensioner of the city (409 face_enrolled_elsewhere) or
    unlike this pensioner's anchor (409 face_mismatch_existing) is refused unless an admin or supervisor
    gives an override reason; a printed or on-screen photo is refused (422 presentation_attack).
    """
    data = [read_limited(p, settings.max_upload_bytes) for p in photos]
    templates = face_service.enrol(
        session=session,
        settings=settings,
        pensioner_id=pensioner.id,
        photos=data,
        source=source,
        consent_method=consent_method,
        staff_id=staff.id,
        now=now,
        override=Override(staff_id=staff.id, role=staff.role, reason=override_reason) if override_reason else None,
    )
    return EnrolmentOut(pensioner_id=pensioner.id, templates=[t.id for t in templates], source=source)


@router.post("/face-verifications")
def verify_at_counter(
    staff: EnrolStaff,
    pensioner: PensionerInCity,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    photo: Annotated[UploadFile, File(description="A photo taken at the counter")],
) -> FaceCheckOut:
    """1:1 check of a photo against the pensioner's templates (the attempt is recorded)."""
    data = read_limited(photo, settings.max_upload_bytes)
    outcome = face_service.verify_photo(
        session=session,
        settings=settings,
        pensioner_id=pensioner.id,
        photo=data,
        channel=CertificationChannel.COUNTER.value,
        staff_id=staff.id,
        now=now,
    )
    return match_body(outcome)


@router.delete("/face")
def delete_face(staff: EnrolStaff, pensioner: PensionerInCity, session: SessionDep) -> TemplatesDeletedOut:
    """Withdraw biometric consent: every template of the pensioner is deleted."""
    count = face_service.delete_templates(
        session=session,
        pensioner_id=pensioner.id,
        actor_id=staff.id,
        reason=face_service.TemplateDeletion.CONSENT_WITHDRAWN,
    )
    return TemplatesDeletedOut(deleted=count)


@router.put("/action-exemptions")
def set_action_exemptions(
    staff: EnrolStaff, pensioner: PensionerInCity, session: SessionDep, body: ExemptionsIn
) -> ExemptionsOut:
    """Record which liveness actions this person cannot perform (only these may be left out of a challenge)."""
    actions = liveness.set_action_exemptions(
        session=session, pensioner=pensioner, actions=list(body.actions), reason=body.reason, staff_id=staff.id
    )
    return ExemptionsOut(pensioner_id=pensioner.id, actions=actions)
