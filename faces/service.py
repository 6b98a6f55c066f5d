"""Face enrolment and 1:1 verification: templates (encrypted), consent, attempts, rolling updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.orm import Session

from core import audit, metrics
from core.crypto import KeyRing, decrypt_encoding, encrypt_encoding
from core.settings import Settings
from faces import pool as facepool
from faces.errors import (
    BadPhotoCount,
    BadTemplateSource,
    ConsentRequired,
    FaceRejected,
    Locked,
    NotEnrolled,
    PhotoQuality,
)
from models import BiometricConsent, FaceTemplate, VerificationAttempt
from models.enums import AttemptDecision, CertificationChannel, TemplateKind, TemplateSource
from verification import quality as quality_mod
from verification.config import VerificationConfig
from verification.errors import MESSAGES as VERIFICATION_MESSAGES
from verification.face import FaceAnalysis
from verification.image import image_sha256
from verification.matching import MatchResult, should_add_rolling_template, verify

CONSENT_METHODS = {"paper_form", "app_screen", "home_visit_form", "counter_signature"}
MAX_REFERENCE_PHOTOS = 5
COHORT_SIZE = 200


class TemplateDeletion(StrEnum):
    """Why a pensioner's templates were deleted."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    DECEASED = "deceased"


def verification_config(settings: Settings) -> VerificationConfig:
    """The verification thresholds, with the service's upload limits."""
    return VerificationConfig(
        max_image_bytes=settings.max_upload_bytes,
        max_image_pixels=settings.max_image_pixels,
        match_threshold=settings.face_match_threshold,
        retry_threshold=settings.face_retry_threshold,
        raw_match_threshold=settings.face_raw_match_threshold,
        raw_retry_threshold=settings.face_raw_retry_threshold,
        max_raw_distance=settings.face_max_raw_distance,
        min_inter_eye_px=settings.face_min_inter_eye_px,
        min_laplacian_var=settings.face_min_laplacian_var,
        min_face_luminance=settings.face_min_luminance,
        max_face_luminance=settings.face_max_luminance,
        max_clipped_fraction=settings.face_max_clipped_fraction,
        max_yaw_deg=settings.face_max_yaw_deg,
        max_pitch_deg=settings.face_max_pitch_deg,
        max_rolling_templates=settings.face_max_rolling_templates,
    )


def advice_for(reasons: list[str]) -> list[dict[str, str]]:
    """Bilingual advice the app can show for each reason that has some."""
    out = []
    for r in reasons:
        zh_en = quality_mod.ADVICE.get(r) or VERIFICATION_MESSAGES.get(r)
        if zh_en:
            out.append({"reason": r, "zh": zh_en[0], "en": zh_en[1]})
    return out


def analyse(*, settings: Settings, photo: bytes, num_jitters: int | None = None) -> FaceAnalysis:
    """Run decoding and analysis in the face pool; VerificationError codes become FaceRejected."""
    config = verification_config(settings)
    result = facepool.run(facepool.analyse_photo, photo, config, num_jitters)
    if isinstance(result, tuple):
        code, _detail = result
        raise FaceRejected(code)
    return result


def templates_for(*, session: Session, ring: KeyRing, pensioner_id: int) -> list[tuple[FaceTemplate, np.ndarray]]:
    """The pensioner's templates, decrypted (oldest first)."""
    rows = session.scalars(
        select(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id).order_by(FaceTemplate.id)
    ).all()
    return [(t, decrypt_encoding(ring, t.encoding, key_id=t.key_id, pensioner_id=pensioner_id)) for t in rows]


def cohort_for(*, session: Session, ring: KeyRing, pensioner_id: int) -> np.ndarray | None:
    """Anchors of other enrolled pensioners (the production cohort for score normalisation)."""
    rows = session.execute(
        select(FaceTemplate.pensioner_id, FaceTemplate.encoding, FaceTemplate.key_id)
        .where(FaceTemplate.kind == TemplateKind.ANCHOR.value, FaceTemplate.pensioner_id != pensioner_id)
        .order_by(FaceTemplate.id)
        .limit(COHORT_SIZE)
    ).all()
    if not rows:
        return None
    return np.stack([decrypt_encoding(ring, blob, key_id=kid, pensioner_id=pid) for pid, blob, kid in rows])


def enrol(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    photos: list[bytes],
    source: str,
    consent_method: str,
    staff_id: int | None,
    now: datetime,
) -> list[FaceTemplate]:
    """Make anchor templates from reference photos, with the biometric consent recorded; photos are not kept."""
    _check_enrolment(photos=photos, source=source, consent_method=consent_method)
    analyses = _analyse_references(settings=settings, photos=photos)
    session.add(
        BiometricConsent(pensioner_id=pensioner_id, given_at=now, method=consent_method, recorded_by_staff_id=staff_id)
    )
    ring = KeyRing.from_settings(settings)
    created = [
        _new_template(
            ring,
            pensioner_id=pensioner_id,
            encoding=analysis.encoding,
            kind=TemplateKind.ANCHOR,
            source=source,
            staff_id=staff_id,
            now=now,
        )
        for analysis in analyses
    ]
    session.add_all(created)
    session.flush()
    audit.record(
        session=session,
        actor_type="staff" if staff_id else "system",
        actor_id=staff_id,
        action="face_enrolled",
        target_type="pensioner",
        target_id=pensioner_id,
        detail={"templates": [t.id for t in created], "source": source, "consent": consent_method},
    )
    metrics.face_decision("enrol", "enrolled")
    return created


def _check_enrolment(*, photos: list[bytes], source: str, consent_method: str) -> None:
    """Refuse an unknown source, a missing consent method or a wrong number of photos."""
    if source not in {s.value for s in TemplateSource}:
        raise BadTemplateSource()
    if consent_method not in CONSENT_METHODS:
        raise ConsentRequired(sorted(CONSENT_METHODS))
    if not photos or len(photos) > MAX_REFERENCE_PHOTOS:
        raise BadPhotoCount()


def _analyse_references(*, settings: Settings, photos: list[bytes]) -> list[FaceAnalysis]:
    """Analyse every reference photo; the first unusable one refuses the enrolment (nothing is recorded)."""
    jitters = verification_config(settings).enrol_num_jitters
    analyses: list[FaceAnalysis] = []
    for index, photo in enumerate(photos):
        try:
            analysis = analyse(settings=settings, photo=photo, num_jitters=jitters)
        except FaceRejected as exc:
            exc.detail = {"photo": index}
            exc.keep_changes = False
            raise
        if not analysis.quality.ok:
            reasons = analysis.quality.reasons
            raise PhotoQuality(photo=index, reasons=reasons, advice=advice_for(reasons))
        analyses.append(analysis)
    return analyses


def _new_template(
    ring: KeyRing,
    *,
    pensioner_id: int,
    encoding: np.ndarray,
    kind: TemplateKind,
    source: str,
    staff_id: int | None,
    now: datetime,
) -> FaceTemplate:
    """An encrypted template row (not yet added to the session)."""
    blob, key_id = encrypt_encoding(ring, encoding, pensioner_id=pensioner_id)
    return FaceTemplate(
        pensioner_id=pensioner_id,
        kind=kind.value,
        source=source,
        encoding=blob,
        key_id=key_id,
        created_by_staff_id=staff_id,
        created_at=now,
    )


def _local_day_start(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(tz))


def failed_app_attempt() -> ColumnElement[bool]:
    """The one definition of a failed app attempt: an app face check that did not match."""
    return and_(
        VerificationAttempt.channel == CertificationChannel.APP.value,
        VerificationAttempt.decision != AttemptDecision.MATCH.value,
    )


def ensure_not_locked(*, session: Session, settings: Settings, pensioner_id: int, now: datetime) -> None:
    """Refuse app self-service with `locked` after too many failed app attempts today (local day)."""
    since = _local_day_start(now, settings.timezone)
    failures = (
        session.scalar(
            select(func.count())
            .select_from(VerificationAttempt)
            .where(
                VerificationAttempt.pensioner_id == pensioner_id,
                VerificationAttempt.at >= since,
                VerificationAttempt.at < since + timedelta(days=1),
                failed_app_attempt(),  # the counter and home visits are the way out of a lock
            )
        )
        or 0
    )
    if failures >= settings.face_attempts_per_day:
        raise Locked(detail={"failed_today": failures})


@dataclass
class VerifyOutcome:
    """An attempt and, when a face was analysed, the match result."""

    attempt: VerificationAttempt
    match: MatchResult | None
    reasons: list[str] = field(default_factory=list)
    rolling_template_added: bool = False


def match_encodings(
    *, session: Session, settings: Settings, pensioner_id: int, probes: list[np.ndarray]
) -> MatchResult:
    """Probe encodings against the pensioner's templates with the enrolled population as cohort."""
    ring = KeyRing.from_settings(settings)
    templates = templates_for(session=session, ring=ring, pensioner_id=pensioner_id)
    if not templates:
        raise NotEnrolled()
    cohort = cohort_for(session=session, ring=ring, pensioner_id=pensioner_id)
    return verify(probes, [enc for _, enc in templates], cohort=cohort, config=verification_config(settings))


def add_rolling_template(
    *, session: Session, settings: Settings, pensioner_id: int, result: MatchResult, encoding: np.ndarray, now: datetime
) -> bool:
    """After a comfortable match, keep the new encoding as a rolling template (oldest dropped beyond N)."""
    config = verification_config(settings)
    if not should_add_rolling_template(result, config):
        return False
    ring = KeyRing.from_settings(settings)
    session.add(
        _new_template(
            ring,
            pensioner_id=pensioner_id,
            encoding=encoding,
            kind=TemplateKind.ROLLING,
            source=TemplateSource.APP.value,
            staff_id=None,
            now=now,
        )
    )
    session.flush()
    keep = (
        select(FaceTemplate.id)
        .where(FaceTemplate.pensioner_id == pensioner_id, FaceTemplate.kind == TemplateKind.ROLLING.value)
        .order_by(FaceTemplate.id.desc())
        .limit(config.max_rolling_templates)
    )
    session.execute(
        delete(FaceTemplate).where(
            FaceTemplate.pensioner_id == pensioner_id,
            FaceTemplate.kind == TemplateKind.ROLLING.value,
            FaceTemplate.id.not_in(keep.scalar_subquery()),
        )
    )
    return True


def verify_photo(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    photo: bytes,
    channel: str,
    staff_id: int | None,
    now: datetime,
    season_year: int | None = None,
) -> VerifyOutcome:
    """One 1:1 check of a photo; every attempt is stored (hash, not image); unusable photos raise FaceRejected."""
    if not session.scalar(
        select(func.count()).select_from(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id)
    ):
        raise NotEnrolled()
    attempt = VerificationAttempt(
        pensioner_id=pensioner_id,
        at=now,
        channel=channel,
        season_year=season_year,
        decision=AttemptDecision.REJECTED.value,
        reasons=[],
        image_sha256=image_sha256(photo),
        staff_id=staff_id,
    )
    session.add(attempt)
    try:
        analysis = analyse(settings=settings, photo=photo)
    except FaceRejected as exc:
        attempt.reasons = [exc.code]
        session.flush()
        metrics.face_decision("verify_photo", AttemptDecision.REJECTED.value)
        raise
    if not analysis.quality.ok:
        metrics.face_decision("verify_photo", AttemptDecision.RETRY.value)
        attempt.decision = AttemptDecision.RETRY.value
        attempt.reasons = list(analysis.quality.reasons)
        session.flush()
        return VerifyOutcome(attempt=attempt, match=None, reasons=list(analysis.quality.reasons))
    result = match_encodings(session=session, settings=settings, pensioner_id=pensioner_id, probes=[analysis.encoding])
    attempt.decision = result.decision
    attempt.distance = result.distance
    attempt.score = result.score
    attempt.reasons = list(result.reasons)
    session.flush()
    metrics.face_decision("verify_photo", result.decision)
    added = False
    if result.decision == AttemptDecision.MATCH.value:
        added = add_rolling_template(
            session=session,
            settings=settings,
            pensioner_id=pensioner_id,
            result=result,
            encoding=analysis.encoding,
            now=now,
        )
    return VerifyOutcome(attempt=attempt, match=result, reasons=list(result.reasons), rolling_template_added=added)


def delete_templates(*, session: Session, pensioner_id: int, actor_id: int | None, reason: TemplateDeletion) -> int:
    """Delete every template of a pensioner (pension ended, consent withdrawn)."""
    result = session.execute(delete(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id))
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="face_templates_deleted",
        target_type="pensioner",
        target_id=pensioner_id,
        detail={"count": count, "reason": reason.value},
    )
    return count
