"""The app channel: a liveness answer, checked on the face side, decided and recorded as a certification."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from certification import seasons as season_service
from certification import service as certification_service
from core import audit, metrics
from core.settings import Settings
from faces import liveness
from faces import matching as face_matching
from faces import service as face_service
from faces.errors import Locked, NotEnrolled, RecordingRejected
from faces.liveness import AnalysedSubmission
from models import Certification, LivenessChallenge, Pensioner, VerificationAttempt
from models.enums import AppDecision, AppReason, AttemptDecision, CertificationChannel
from verification.liveness import ActionStep

METRIC = "app_certification"
_FROM_MATCH = {
    AttemptDecision.MATCH: AppDecision.CERTIFIED,
    AttemptDecision.RETRY: AppDecision.RETRY,
    AttemptDecision.NO_MATCH: AppDecision.NO_MATCH,
}
_COHORT_ADVICE = (
    "系统正在建立人脸比对基准，暂时无法在手机上完成认证，请到任一社保窗口办理或申请上门认证。",
    "Face matching is not yet calibrated for self-service; please certify at any counter or ask for a home visit.",
)

# No match or a borderline score: what the person can do (the face reasons above say nothing about a match).
_MATCH_ADVICE = {
    "raw_distance_too_large": (
        "与登记的照片不一致。如确为本人，请带身份证到任一社保窗口办理，或申请上门认证。",
        "This does not match the enrolled photo. If it is you, bring your ID card to any office or ask for a home visit.",
    ),
    "closer_to_other_person": (
        "与登记的照片不一致。如确为本人，请带身份证到任一社保窗口办理，或申请上门认证。",
        "This does not match the enrolled photo. If it is you, bring your ID card to any office or ask for a home visit.",
    ),
    "borderline_score": (
        "没有认清楚：请到光线明亮处，正对手机，摘下帽子和眼镜后再试一次。",
        "Not clear enough: move to a bright place, face the phone, take off hat and glasses, and try again.",
    ),
}

_PAD_ADVICE = (
    "画面疑似来自照片或屏幕。请本人直接面对手机摄像头重新认证；如有困难，请到任一社保窗口办理。",
    "The picture looks like a photo or a screen. Face the phone camera yourself and try again, or go to any counter.",
)


@dataclass
class AppAnswer:
    """What one liveness answer decided: the attempt, and the certification when it certified."""

    decision: AppDecision
    reasons: list[str]
    steps: list[ActionStep] = field(default_factory=list)
    attempt: VerificationAttempt | None = None
    certification: Certification | None = None


def advice_for(reasons: list[str]) -> list[dict[str, str]]:
    """Bilingual advice for an answer's reasons: face, lock and cohort advice, then liveness advice."""
    out = face_service.advice_for(reasons)
    for reason in dict.fromkeys(r for r in reasons if r in _MATCH_ADVICE):
        zh, en = _MATCH_ADVICE[reason]
        if not any(a["zh"] == zh for a in out):
            out.append({"reason": reason, "zh": zh, "en": en})
    if AppReason.LOCKED in reasons:
        out.append({"reason": AppReason.LOCKED.value, "zh": Locked.message_zh, "en": Locked.message_en})
    if AppReason.COHORT_TOO_SMALL in reasons:
        out.append({"reason": AppReason.COHORT_TOO_SMALL.value, "zh": _COHORT_ADVICE[0], "en": _COHORT_ADVICE[1]})
    if AppDecision.PRESENTATION_ATTACK in reasons:
        out.append({"reason": AppDecision.PRESENTATION_ATTACK.value, "zh": _PAD_ADVICE[0], "en": _PAD_ADVICE[1]})
    return liveness.add_liveness_advice(out, reasons)


def submit(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    challenge_id: str,
    frames: list[bytes],
    timestamps_ms: list[int],
    video: bytes | None,
    now: datetime,
    mirrored: bool = False,
    helper_phone: str | None = None,
) -> AppAnswer:
    """Check the challenge, the liveness sequence (`mirrored`: the app's selfie preview), replays and the match;
    `helper_phone`: the family helper whose login sends it (kept on the attempt)."""
    liveness.check_recording(frames, timestamps_ms, video)
    challenge = liveness.claim_challenge(session=session, pensioner_id=pensioner.id, challenge_id=challenge_id, now=now)
    season = season_service.current_season(session=session, today=season_service.local_date(now, settings.timezone))
    try:
        face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=pensioner.id, now=now)
    except Locked:
        challenge.result = AppDecision.LOCKED.value
        metrics.face_decision(METRIC, AppDecision.LOCKED.value)
        return AppAnswer(decision=AppDecision.LOCKED, reasons=[AppReason.LOCKED.value])
    attempt = _new_attempt(
        pensioner=pensioner,
        season_year=season.year if season else None,
        recording_sha256=liveness.recording_sha256(frames, video),
        challenge=challenge,
        helper_phone=helper_phone,
        now=now,
    )
    session.add(attempt)
    analysed, reasons = _analyse(
        session=session,
        settings=settings,
        attempt=attempt,
        challenge=challenge,
        recording=(frames, timestamps_ms, video, mirrored),
        now=now,
    )
    decision, decided = _decide(
        session=session, settings=settings, pensioner_id=pensioner.id, analysed=analysed, reasons=reasons
    )
    if decided is not None:
        attempt.distance, attempt.score = decided.result.distance, decided.result.score
    steps = list(analysed.result.steps) if analysed.result is not None else []
    answer = AppAnswer(decision=decision, reasons=reasons, steps=steps, attempt=attempt)
    if decision is AppDecision.CERTIFIED and decided is not None:
        answer.certification = _certify(
            session=session,
            settings=settings,
            attempt=attempt,
            challenge=challenge,
            decided=decided,
            analysed=analysed,
            now=now,
        )
    _record_outcome(session=session, answer=answer, attempt=attempt, challenge=challenge)
    return answer


def _new_attempt(
    *,
    pensioner: Pensioner,
    season_year: int | None,
    recording_sha256: str,
    challenge: LivenessChallenge,
    helper_phone: str | None,
    now: datetime,
) -> VerificationAttempt:
    """The attempt of one answer, liveness_failed until decided (with the helper whose login sent it)."""
    return VerificationAttempt(
        pensioner_id=pensioner.id,
        at=now,
        channel=CertificationChannel.APP.value,
        season_year=season_year,
        decision=AttemptDecision.LIVENESS_FAILED.value,
        reasons=[],
        image_sha256=recording_sha256,
        challenge_id=challenge.id,
        helper_phone=helper_phone,
    )


def _analyse(
    *,
    session: Session,
    settings: Settings,
    attempt: VerificationAttempt,
    challenge: LivenessChallenge,
    recording: tuple[list[bytes], list[int], bytes | None, bool],
    now: datetime,
) -> tuple[AnalysedSubmission, list[str]]:
    """The analysis and its reasons (replayed_frames: a certified answer's frames again); undecodable → rejected attempt."""
    frames, timestamps_ms, video, mirrored = recording  # mirrored: the frames are the app's selfie preview
    try:
        models = face_matching.probe_models(session=session, settings=settings, pensioner_id=attempt.pensioner_id)
    except NotEnrolled:
        models = None  # the match step says so after the analysis, as before
    try:
        analysed = liveness.analyse_recording(
            settings=settings,
            actions=list(challenge.actions),
            frames=frames,
            timestamps_ms=timestamps_ms,
            video=video,
            mirrored=mirrored,
            models=models,
        )
    except RecordingRejected as exc:
        attempt.reasons = [exc.code]
        attempt.decision = AttemptDecision.REJECTED.value
        challenge.result = AppDecision.REJECTED.value
        session.flush()
        metrics.face_decision(METRIC, AppDecision.REJECTED.value)
        raise
    assert analysed.result is not None
    reasons = list(analysed.result.reasons)
    if liveness.remember_frames(
        session=session,
        settings=settings,
        pensioner_id=attempt.pensioner_id,
        season_year=attempt.season_year,
        challenge_id=challenge.id,
        signatures=analysed.signatures,
        now=now,
    ):
        reasons.append(AppReason.REPLAYED_FRAMES.value)
    return analysed, reasons


def _decide(
    *, session: Session, settings: Settings, pensioner_id: int, analysed: AnalysedSubmission, reasons: list[str]
) -> tuple[AppDecision, face_matching.ModelMatch | None]:
    """Liveness, then anti-spoofing, then the 1:1 match of the deciding model (adds to `reasons`)."""
    result = analysed.result
    if result is None or not result.passed or AppReason.REPLAYED_FRAMES in reasons:
        return AppDecision.LIVENESS_FAILED, None
    if not (result.track_encodings or analysed.sface):
        return AppDecision.LIVENESS_FAILED, None
    if analysed.pad_real is not None and analysed.pad_real < settings.face_pad_real_threshold:
        reasons.append(AppDecision.PRESENTATION_ATTACK.value)
        return AppDecision.PRESENTATION_ATTACK, None
    probes = {face_matching.DLIB: [np.asarray(e) for e in result.track_encodings], face_matching.SFACE: analysed.sface}
    decided = face_matching.match(session=session, settings=settings, pensioner_id=pensioner_id, probes=probes)
    match = decided.result
    reasons += match.reasons
    decision = _FROM_MATCH[AttemptDecision(match.decision)]
    cohort_rule = decided.model == face_matching.DLIB and settings.face_app_requires_cohort
    if decision is AppDecision.CERTIFIED and not match.normalised and cohort_rule:
        # Raw dlib thresholds let ~19 % of East-Asian stranger pairs through (docs/accuracy.md): until enough
        # pensioners are enrolled to normalise them, dlib self-service cannot certify; SFace needs no cohort.
        decision = AppDecision.RETRY
        reasons.append(AppReason.COHORT_TOO_SMALL.value)
    return decision, decided


def _certify(
    *,
    session: Session,
    settings: Settings,
    attempt: VerificationAttempt,
    challenge: LivenessChallenge,
    decided: face_matching.ModelMatch,
    analysed: AnalysedSubmission,
    now: datetime,
) -> Certification:
    """Record the season's certification for the matching attempt and keep the face as a rolling template."""
    attempt.decision = AttemptDecision.MATCH.value
    session.flush()
    cert = certification_service.record_certification(
        session=session,
        settings=settings,
        pensioner_id=attempt.pensioner_id,
        channel=CertificationChannel.APP.value,
        now=now,
        attempt_id=attempt.id,
        evidence={"challenge_id": challenge.id, "actions": challenge.actions, "exempted": challenge.exempted},
    )
    assert analysed.result is not None
    vectors = {face_matching.DLIB: analysed.result.track_encodings[:1], face_matching.SFACE: analysed.sface[:1]}
    pid = attempt.pensioner_id
    face_service.add_rolling_template(
        session=session,
        settings=settings,
        pensioner_id=pid,
        result=decided.result,
        encoding=np.asarray(vectors[decided.model][0]),
        now=now,
        model=decided.model,
    )
    face_service.add_first_sface_template(
        session=session,
        settings=settings,
        pensioner_id=pid,
        decided=decided,
        vector=analysed.sface[0] if analysed.sface else None,
        channel=CertificationChannel.APP.value,
        staff_id=None,
        now=now,
    )
    return cert


def _record_outcome(
    *, session: Session, answer: AppAnswer, attempt: VerificationAttempt, challenge: LivenessChallenge
) -> None:
    """Write the decision on the attempt and the challenge, count it and audit it."""
    if answer.decision is not AppDecision.CERTIFIED:  # retry, no_match, liveness_failed: attempt decisions too
        attempt.decision = AttemptDecision(answer.decision.value).value
    attempt.reasons = answer.reasons
    challenge.result = answer.decision.value
    session.flush()
    metrics.face_decision(METRIC, answer.decision.value)
    detail: dict[str, object] = {"attempt": attempt.id, "reasons": answer.reasons}
    if attempt.helper_phone:
        detail["helper_phone"] = attempt.helper_phone
    audit.record(
        session=session,
        actor_type="family_helper" if attempt.helper_phone else "pensioner",
        actor_id=attempt.pensioner_id,
        action=f"app_certification_{answer.decision.value}",
        target_type="pensioner",
        target_id=attempt.pensioner_id,
        detail=detail,
    )
