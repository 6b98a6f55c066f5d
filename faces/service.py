"""Face enrolment and 1:1 verification: templates per model (encrypted), consent, attempts, rolling updates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, Select, String, and_, cast, delete, func, literal, or_, select
from sqlalchemy.orm import Session

from core import audit, metrics
from core.crypto import KeyRing, encrypt_encoding
from core.settings import Settings
from faces import matching as face_matching
from faces import pool as facepool
from faces.errors import (
    BadPhotoCount,
    BadTemplateSource,
    ConsentRequired,
    FaceRejected,
    Locked,
    NotEnrolled,
    PhotoQuality,
    PresentationAttack,
)
from faces.matching import DLIB, SFACE, verification_config
from faces.pool import PhotoAnalysis
from faces.uniqueness import Override, one_face_one_pension
from models import BiometricConsent, FaceTemplate, Pensioner, ReplaySignature, VerificationAttempt, bulk
from models.enums import AttemptDecision, CertificationChannel, TemplateKind, TemplateSource
from verification import quality as quality_mod
from verification.errors import MESSAGES as VERIFICATION_MESSAGES
from verification.image import image_sha256
from verification.matching import MatchResult

CONSENT_METHODS = {"paper_form", "app_screen", "home_visit_form", "counter_signature"}
MAX_REFERENCE_PHOTOS = 5


class TemplateDeletion(StrEnum):
    """Why a pensioner's templates were deleted."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    DECEASED = "deceased"


# A refusal on the score: what the person (or the clerk beside them) can do next.
NO_MATCH_REASONS = ("score_above_threshold",)  # only a no_match decision has it (verification.matching)
NO_MATCH_ADVICE = (
    "未能确认是本人：请摘下眼镜、帽子或口罩，正对镜头在明亮处重拍；仍不通过请本人携带身份证到社保经办窗口认证，"
    "或申请工作人员上门认证。",
    "Could not confirm it is the pensioner: take off glasses, hat or mask and retake facing the camera in good "
    "light; if it still fails, come to a service counter with the ID card or ask for a home visit.",
)


def advice_for(reasons: list[str]) -> list[dict[str, str]]:
    """Bilingual advice the app can show for each reason that has some (a no-match refusal once)."""
    out = []
    for r in reasons:
        zh_en = quality_mod.ADVICE.get(r) or VERIFICATION_MESSAGES.get(r)
        if zh_en:
            out.append({"reason": r, "zh": zh_en[0], "en": zh_en[1]})
    if any(r in NO_MATCH_REASONS for r in reasons):
        out.append({"reason": AttemptDecision.NO_MATCH.value, "zh": NO_MATCH_ADVICE[0], "en": NO_MATCH_ADVICE[1]})
    return out


def analyse(
    *, settings: Settings, photo: bytes, num_jitters: int | None = None, models: tuple[str, ...] | None = None
) -> PhotoAnalysis:
    """Decode, analyse with the given models (default: every active one, as enrolment needs) and score P(real)
    in the face pool; errors become FaceRejected."""
    config = verification_config(settings)
    models = models or face_matching.active_models(settings)
    result = facepool.run(facepool.analyse_photo, photo, config, num_jitters, models, settings.face_pad_enabled)
    if isinstance(result, tuple):
        code, _detail = result
        raise FaceRejected(code)
    return result


def templates_for(*, session: Session, ring: KeyRing, pensioner_id: int) -> list[tuple[FaceTemplate, np.ndarray]]:
    """All the pensioner's templates (every model), decrypted, oldest first."""
    return face_matching.templates_of(session=session, ring=ring, pensioner_id=pensioner_id)


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
    override: Override | None = None,
) -> list[FaceTemplate]:
    """Make anchor templates (one per photo and model) with the consent recorded; photos are not kept."""
    _check_enrolment(photos=photos, source=source, consent_method=consent_method)
    analyses = _analyse_references(settings=settings, photos=photos, pad=source != TemplateSource.ID_PHOTO.value)
    pensioner = session.get(Pensioner, pensioner_id)
    assert pensioner is not None  # routes and commands load the pensioner first
    one_face_one_pension(
        session=session, settings=settings, pensioner=pensioner, analyses=analyses, now=now, override=override
    )
    session.add(
        BiometricConsent(pensioner_id=pensioner_id, given_at=now, method=consent_method, recorded_by_staff_id=staff_id)
    )
    ring = KeyRing.from_settings(settings)
    created = [
        _new_template(
            ring,
            pensioner_id=pensioner_id,
            encoding=vector,
            model=model,
            kind=TemplateKind.ANCHOR,
            source=source,
            staff_id=staff_id,
            now=now,
        )
        for analysis in analyses
        for model, vector in analysis.vectors.items()
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
        detail={
            "templates": [t.id for t in created],
            "source": source,
            "consent": consent_method,
            "models": sorted({t.model for t in created}),
        },
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


def _analyse_references(*, settings: Settings, photos: list[bytes], pad: bool = True) -> list[PhotoAnalysis]:
    """Analyse every reference photo; the first unusable one refuses the enrolment (nothing is recorded)."""
    jitters = verification_config(settings).enrol_num_jitters
    analyses: list[PhotoAnalysis] = []
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
        if pad and _is_attack(settings, analysis):
            raise PresentationAttack(photo=index, score=analysis.pad_real or 0.0)
        analyses.append(analysis)
    return analyses


def _new_template(
    ring: KeyRing,
    *,
    pensioner_id: int,
    encoding: np.ndarray,
    model: str,
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
        model=model,
        encoding=blob,
        key_id=key_id,
        created_by_staff_id=staff_id,
        created_at=now,
    )


def _local_day_start(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(tz))


# Refusals the pensioner's face or recording caused; bad uploads (rejected) and server-side states never count.
REFUSALS = (
    AttemptDecision.NO_MATCH.value,
    AttemptDecision.LIVENESS_FAILED.value,
    AttemptDecision.PRESENTATION_ATTACK.value,
)
# A `retry` for these reasons says nothing about the face: the service could not decide yet.
SERVER_SIDE_REASONS = ("cohort_too_small",)


def failed_app_attempt() -> ColumnElement[bool]:
    """The one definition of a failed app attempt: a genuine refusal, or a retry on a borderline score."""
    reasons = cast(VerificationAttempt.reasons, String)
    score_retry = and_(
        VerificationAttempt.decision == AttemptDecision.RETRY.value,
        *[reasons.not_like(f'%"{code}"%') for code in SERVER_SIDE_REASONS],
    )
    return and_(
        VerificationAttempt.channel == CertificationChannel.APP.value,
        or_(VerificationAttempt.decision.in_(REFUSALS), score_retry),
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
        tomorrow = since + timedelta(days=1)  # the lock ends with the local day
        raise Locked(
            detail={"failed_today": failures, "retry_after_seconds": math.ceil((tomorrow - now).total_seconds())}
        )


@dataclass
class VerifyOutcome:
    """An attempt and, when a face was analysed, the match result."""

    attempt: VerificationAttempt
    match: MatchResult | None
    reasons: list[str] = field(default_factory=list)
    rolling_template_added: bool = False


def match_encodings(
    *, session: Session, settings: Settings, pensioner_id: int, probes: list[np.ndarray], model: str = DLIB
) -> MatchResult:
    """Probe vectors of one model against the pensioner's templates of that model (dlib: with the cohort)."""
    return face_matching.match(
        session=session, settings=settings, pensioner_id=pensioner_id, probes={model: probes}
    ).result


def add_rolling_template(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    result: MatchResult,
    encoding: np.ndarray,
    now: datetime,
    model: str = DLIB,
) -> bool:
    """After a comfortable match, keep the new vector as a rolling template of its model (oldest beyond N dropped)."""
    config = face_matching.model_config(settings, model)
    if not face_matching.comfortable(settings=settings, model=model, result=result):
        return False
    ring = KeyRing.from_settings(settings)
    session.add(
        _new_template(
            ring,
            pensioner_id=pensioner_id,
            encoding=encoding,
            model=model,
            kind=TemplateKind.ROLLING,
            source=TemplateSource.APP.value,
            staff_id=None,
            now=now,
        )
    )
    session.flush()
    rolling = and_(
        FaceTemplate.pensioner_id == pensioner_id,
        FaceTemplate.kind == TemplateKind.ROLLING.value,
        FaceTemplate.model == model,
    )
    keep = select(FaceTemplate.id).where(rolling).order_by(FaceTemplate.id.desc()).limit(config.max_rolling_templates)
    session.execute(delete(FaceTemplate).where(rolling, FaceTemplate.id.not_in(keep.scalar_subquery())))
    return True


def _is_attack(settings: Settings, analysis: PhotoAnalysis) -> bool:
    """Whether passive anti-spoofing scored the face below the real threshold (no score: not judged)."""
    return analysis.pad_real is not None and analysis.pad_real < settings.face_pad_real_threshold


def add_first_sface_template(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    decided: face_matching.ModelMatch,
    vector: np.ndarray | None,
    channel: str,
    staff_id: int | None,
    now: datetime,
) -> bool:
    """Migration: a confident dlib match gives a pensioner without one their first SFace template."""
    if decided.model != DLIB or vector is None or SFACE not in face_matching.active_models(settings):
        return False
    if not face_matching.comfortable(settings=settings, model=DLIB, result=decided.result):
        return False
    if session.scalar(
        select(func.count()).where(FaceTemplate.pensioner_id == pensioner_id, FaceTemplate.model == SFACE)
    ):
        return False
    staff_seen = channel in (CertificationChannel.COUNTER.value, CertificationChannel.HOME_VISIT.value)
    kind, source = (TemplateKind.ANCHOR, channel) if staff_seen else (TemplateKind.ROLLING, TemplateSource.APP.value)
    session.add(
        _new_template(
            KeyRing.from_settings(settings),
            pensioner_id=pensioner_id,
            encoding=vector,
            model=SFACE,
            kind=kind,
            source=source,
            staff_id=staff_id,
            now=now,
        )
    )
    session.flush()
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
    models = face_matching.probe_models(session=session, settings=settings, pensioner_id=pensioner_id)
    try:
        analysis = analyse(settings=settings, photo=photo, models=models)
    except FaceRejected as exc:
        attempt.reasons = [exc.code]
        session.flush()
        metrics.face_decision("verify_photo", AttemptDecision.REJECTED.value)
        raise
    refused = _refusal(settings, analysis)
    if refused is not None:
        decision, reasons = refused
        metrics.face_decision("verify_photo", decision)
        attempt.decision, attempt.reasons = decision, reasons
        session.flush()
        return VerifyOutcome(attempt=attempt, match=None, reasons=reasons)
    return _decide_photo(session=session, settings=settings, attempt=attempt, analysis=analysis, now=now)


def _refusal(settings: Settings, analysis: PhotoAnalysis) -> tuple[str, list[str]] | None:
    """Quality gates (retry with advice), then passive anti-spoofing (presentation_attack); None to go on."""
    if not analysis.quality.ok:
        return AttemptDecision.RETRY.value, list(analysis.quality.reasons)
    if _is_attack(settings, analysis):
        return AttemptDecision.PRESENTATION_ATTACK.value, [AttemptDecision.PRESENTATION_ATTACK.value]
    return None


def _decide_photo(
    *, session: Session, settings: Settings, attempt: VerificationAttempt, analysis: PhotoAnalysis, now: datetime
) -> VerifyOutcome:
    """Match with the deciding model, record the attempt, keep a rolling (or first SFace) template."""
    pid = attempt.pensioner_id
    probes = {model: [vector] for model, vector in analysis.vectors.items()}
    decided = face_matching.match(session=session, settings=settings, pensioner_id=pid, probes=probes)
    result = decided.result
    attempt.decision, attempt.distance, attempt.score = result.decision, result.distance, result.score
    attempt.reasons = list(result.reasons)
    session.flush()
    metrics.face_decision("verify_photo", result.decision)
    added = False
    if result.decision == AttemptDecision.MATCH.value:
        added = add_rolling_template(
            session=session,
            settings=settings,
            pensioner_id=pid,
            result=result,
            encoding=analysis.vectors[decided.model],
            now=now,
            model=decided.model,
        )
        add_first_sface_template(
            session=session,
            settings=settings,
            pensioner_id=pid,
            decided=decided,
            vector=analysis.vectors.get(SFACE),
            channel=attempt.channel,
            staff_id=attempt.staff_id,
            now=now,
        )
    return VerifyOutcome(attempt=attempt, match=result, reasons=list(result.reasons), rolling_template_added=added)


def template_count(pensioner_id: Any) -> Any:
    """A scalar subquery: how many face templates the pensioner has."""
    return select(func.count()).where(FaceTemplate.pensioner_id == pensioner_id).scalar_subquery()


def delete_templates_many(
    *, session: Session, pensioner_ids: Select[Any], actor_id: int | None, reason: TemplateDeletion
) -> None:
    """`delete_templates` for many people at once: one audit row each (with its count), then the deletes."""
    who = pensioner_ids.subquery()
    pid = who.c[0]
    audit.record_from_select(
        session=session,
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        action="face_templates_deleted",
        target_type="pensioner",
        query=select(pid, bulk.json_object(session, count=template_count(pid), reason=literal(reason.value))),
    )
    session.execute(delete(FaceTemplate).where(FaceTemplate.pensioner_id.in_(select(pid))))
    session.execute(delete(ReplaySignature).where(ReplaySignature.pensioner_id.in_(select(pid))))


def delete_templates(*, session: Session, pensioner_id: int, actor_id: int | None, reason: TemplateDeletion) -> int:
    """Delete every template of a pensioner (pension ended, consent withdrawn), and their replay signatures."""
    result = session.execute(delete(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id))
    count = int(getattr(result, "rowcount", 0) or 0)
    session.execute(delete(ReplaySignature).where(ReplaySignature.pensioner_id == pensioner_id))
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
