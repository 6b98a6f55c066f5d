"""One face, one pension: a new reference photo may not be another pensioner's face, nor a stranger's beside an anchor.

Refusals name the other pensioner (id and distance) to the staff member, who serves the whole city anyway;
only a supervisor or an admin may override, with a reason, and the override is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import DomainError
from core.settings import Settings
from faces import matching as face_matching
from faces import search_index
from faces.errors import FaceEnrolledElsewhere, FaceMismatchExisting, OverrideNotAllowed
from faces.pool import PhotoAnalysis
from models import FaceTemplate, Pensioner
from models.enums import AttemptDecision, StaffRole, TemplateKind

OVERRIDE_ROLES = {StaffRole.ADMIN.value, StaffRole.SUPERVISOR.value}
MIN_REASON_CHARS = 4


@dataclass(frozen=True)
class Override:
    """A supervisor's decision to enrol despite a one-face-one-pension refusal."""

    staff_id: int
    role: str
    reason: str


def one_face_one_pension(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    analyses: list[PhotoAnalysis],
    now: datetime,
    override: Override | None,
) -> None:
    """Refuse (or, overridden, audit) a face enrolled for someone else or unlike this pensioner's anchor."""
    refusal = _enrolled_elsewhere(session=session, settings=settings, pensioner=pensioner, analyses=analyses, now=now)
    refusal = refusal or _unlike_anchor(session=session, settings=settings, pensioner=pensioner, analyses=analyses)
    if refusal is None:
        return
    if override is None:
        raise refusal
    if override.role not in OVERRIDE_ROLES or len(override.reason.strip()) < MIN_REASON_CHARS:
        raise OverrideNotAllowed()
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=override.staff_id,
        action="face_uniqueness_overridden",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"refusal": refusal.code, "detail": refusal.detail, "reason": override.reason.strip()},
    )


def _enrolled_elsewhere(
    *, session: Session, settings: Settings, pensioner: Pensioner, analyses: list[PhotoAnalysis], now: datetime
) -> DomainError | None:
    """FaceEnrolledElsewhere when an SFace vector of a photo is close to another pensioner's template."""
    others: dict[int, float] = {}
    for analysis in analyses:
        vector = analysis.vectors.get(face_matching.SFACE)
        if vector is None:
            continue
        for m in search_index.find_enrolled_elsewhere(
            session=session,
            settings=settings,
            model=face_matching.SFACE,
            vector=vector,
            pensioner_id=pensioner.id,
            city_code=pensioner.city_code or "",
            max_distance=settings.face_duplicate_distance,
            now=now,
        ):
            others[m.pensioner_id] = min(m.distance, others.get(m.pensioner_id, 2.0))
    if not others:
        return None
    listed: list[dict[str, object]] = [
        {"pensioner_id": pid, "distance": round(d, 3)} for pid, d in sorted(others.items(), key=lambda x: x[1])
    ]
    return FaceEnrolledElsewhere(listed)


def _unlike_anchor(
    *, session: Session, settings: Settings, pensioner: Pensioner, analyses: list[PhotoAnalysis]
) -> DomainError | None:
    """FaceMismatchExisting when a photo does not match the anchors the pensioner already has."""
    anchors = session.scalar(
        select(func.count()).where(
            FaceTemplate.pensioner_id == pensioner.id, FaceTemplate.kind == TemplateKind.ANCHOR.value
        )
    )
    if not anchors:
        return None
    for index, analysis in enumerate(analyses):
        probes = {model: [vector] for model, vector in analysis.vectors.items()}
        decided = face_matching.match(session=session, settings=settings, pensioner_id=pensioner.id, probes=probes)
        if decided.result.decision != AttemptDecision.MATCH.value:
            return FaceMismatchExisting(photo=index, distance=decided.result.distance)
    return None
