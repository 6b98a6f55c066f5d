"""Active liveness: server-issued challenges and the app's certification answer."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from certification import seasons as season_service
from certification import service as certification_service
from core import audit, metrics
from core.errors import Conflict, InvalidInput, NotFound
from core.settings import Settings
from faces import pool as facepool
from faces import service as face_service
from models import FrameHash, LivenessChallenge, Pensioner, VerificationAttempt
from models.enums import AttemptDecision
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.image import decode_image, image_sha256
from verification.liveness import ADVICE as LIVENESS_ADVICE
from verification.liveness import LivenessConfig, LivenessResult, analyse_sequence, frame_phash, is_replay
from verification.video import VideoLimits, decode_video, subsample

ACTIONS = ("blink", "open_mouth", "turn_left", "turn_right")
MAX_FRAMES = 90
CAPTURE_FPS = 15


class ChallengeGone(Conflict):
    """Expired or already used."""

    code = "challenge_expired"
    message_zh = "认证动作已过期或已使用，请重新开始。"
    message_en = "The challenge has expired or was already used; start again."


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned64(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def capture_parameters(settings: Settings) -> dict[str, Any]:
    """What the app must record."""
    return {
        "frame_rate": CAPTURE_FPS,
        "min_frames": LivenessConfig().min_frames,
        "max_frames": MAX_FRAMES,
        "max_side_px": 960,
        "frame_format": "image/jpeg",
        "max_frame_bytes": 2 * 1024 * 1024,
        "video_formats": ["video/mp4", "video/webm"],
        "max_video_bytes": min(settings.max_upload_bytes * 2, 30 * 1024 * 1024),
        "max_video_seconds": 20,
    }


def create_challenge(
    *, session: Session, settings: Settings, pensioner: Pensioner, now: datetime, without: list[str]
) -> LivenessChallenge:
    """A random ordered 2–3 actions, single-use, bound to this pensioner; `without` drops actions the person cannot do."""
    unknown = set(without) - set(ACTIONS)
    if unknown:
        raise InvalidInput("不支持的动作。", f"Unknown actions: {sorted(unknown)}.", code="unknown_action")
    face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=pensioner.id, now=now)
    allowed = [a for a in ACTIONS if a not in without]
    if not allowed:
        raise InvalidInput("至少需要能完成一个动作。", "At least one action must remain.", code="no_actions_left")
    rng = secrets.SystemRandom()
    count = min(len(allowed), rng.choice((2, 3)))
    actions = rng.sample(allowed, count)
    if len(actions) < 2:
        actions = actions * 2  # one possible action: ask for it twice
    challenge = LivenessChallenge(
        id=str(uuid.uuid4()),
        pensioner_id=pensioner.id,
        actions=actions,
        expires_at=now + timedelta(seconds=settings.challenge_ttl_seconds),
        created_at=now,
    )
    session.add(challenge)
    session.flush()
    return challenge


@dataclass
class AnalysedSubmission:
    """What the face pool returns for a submission."""

    result: LivenessResult | None
    hashes: list[int] = field(default_factory=list)
    error: tuple[str, str, str] | None = None  # code, zh, en


def analyse_submission(
    frames: list[bytes], timestamps_ms: list[int], video: bytes | None, actions: list[str], max_upload: int
) -> AnalysedSubmission:
    """Decode frames or video and run the liveness analysis (runs in the face pool)."""
    config = LivenessConfig()
    try:
        if video is not None:
            decoded = decode_video(video, limits=VideoLimits(max_bytes=min(max_upload * 2, 30 * 1024 * 1024)))
            rgb, times = decoded.frames, decoded.timestamps_ms
        else:
            face_cfg = VerificationConfig(max_image_bytes=2 * 1024 * 1024, max_image_pixels=4_000_000)
            rgb = [decode_image(b, config=face_cfg) for b in frames]
            rgb, times = subsample(rgb, timestamps_ms, CAPTURE_FPS) if len(rgb) > 1 else (rgb, timestamps_ms)
    except VerificationError as exc:
        return AnalysedSubmission(result=None, error=(exc.code, exc.message_zh, exc.message_en))
    hashes = [frame_phash(f) for f in rgb]
    return AnalysedSubmission(result=analyse_sequence(rgb, times, actions, config=config), hashes=hashes)


_COHORT_ADVICE = (
    "系统正在建立人脸比对基准，暂时无法在手机上完成认证，请到任一社保窗口办理或申请上门认证。",
    "Face matching is not yet calibrated for self-service; please certify at any counter or ask for a home visit.",
)


def _advice(reasons: list[str]) -> list[dict[str, str]]:
    out = face_service.advice_for(reasons)
    if "cohort_too_small" in reasons:
        out.append({"reason": "cohort_too_small", "zh": _COHORT_ADVICE[0], "en": _COHORT_ADVICE[1]})
    for r in reasons:
        if r in LIVENESS_ADVICE and not any(a["reason"] == r for a in out):
            out.append({"reason": r, "zh": LIVENESS_ADVICE[r][0], "en": LIVENESS_ADVICE[r][1]})
    return out


def _check_frames_input(frames: list[bytes], timestamps_ms: list[int], video: bytes | None) -> None:
    if video is not None and frames:
        raise InvalidInput(
            "请只上传画面或视频之一。", "Send either frames or a video, not both.", code="frames_and_video"
        )
    if video is None:
        if not frames:
            raise InvalidInput("没有收到画面。", "No frames were sent.", code="no_frames")
        if len(frames) > MAX_FRAMES:
            raise InvalidInput(f"画面最多{MAX_FRAMES}张。", f"At most {MAX_FRAMES} frames.", code="too_many_frames")
        if len(timestamps_ms) != len(frames):
            raise InvalidInput(
                "每张画面都需要拍摄时间（毫秒）。", "Each frame needs its capture time in ms.", code="bad_timestamps"
            )


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
) -> dict[str, Any]:
    """Check the challenge, the liveness sequence, replays and the 1:1 match; certify on success."""
    _check_frames_input(frames, timestamps_ms, video)
    challenge = session.get(LivenessChallenge, challenge_id, with_for_update=True)
    if challenge is None or challenge.pensioner_id != pensioner.id:
        raise NotFound("未找到该认证动作。", "Challenge not found.", code="challenge_not_found")
    if challenge.used_at is not None:
        raise ChallengeGone(code="challenge_used")
    if challenge.expires_at <= now:
        raise ChallengeGone()
    challenge.used_at = now
    season = season_service.current_season(session=session, today=season_service.local_date(now, settings.timezone))
    season_year = season.year if season else None
    try:
        face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=pensioner.id, now=now)
    except face_service.Locked as exc:
        challenge.result = "locked"
        metrics.face_decision("app_certification", "locked")
        return {
            "decision": "locked",
            "reasons": ["locked"],
            "advice": [{"reason": "locked", "zh": exc.message_zh, "en": exc.message_en}],
            "steps": [],
            "certification": None,
            "attempt_id": None,
        }
    digest = image_sha256(video if video is not None else b"".join(frames))
    attempt = VerificationAttempt(
        pensioner_id=pensioner.id,
        at=now,
        channel="app",
        season_year=season_year,
        decision=AttemptDecision.LIVENESS_FAILED.value,
        reasons=[],
        image_sha256=digest,
        challenge_id=challenge.id,
    )
    session.add(attempt)
    analysed = facepool.run(
        analyse_submission, frames, timestamps_ms, video, list(challenge.actions), settings.max_upload_bytes
    )
    if analysed.error is not None:
        code, zh, en = analysed.error
        attempt.reasons = [code]
        attempt.decision = "rejected"
        challenge.result = "rejected"
        session.flush()
        metrics.face_decision("app_certification", "rejected")
        raise InvalidInput(zh, en, code=code, keep_changes=True)
    result = analysed.result
    assert result is not None
    reasons = list(result.reasons)
    old = [
        _unsigned64(h)
        for h in session.scalars(
            select(FrameHash.phash).where(
                FrameHash.pensioner_id == pensioner.id, FrameHash.season_year == (season_year or 0)
            )
        )
    ]
    if old and is_replay(analysed.hashes, old):
        reasons.append("replayed_frames")
    session.add_all(
        FrameHash(
            pensioner_id=pensioner.id,
            season_year=season_year or 0,
            phash=_signed64(h),
            challenge_id=challenge.id,
            created_at=now,
        )
        for h in analysed.hashes
    )
    steps = [asdict(s) for s in result.steps]
    body: dict[str, Any] = {"steps": steps, "certification": None}
    if not result.passed or "replayed_frames" in reasons or not result.track_encodings:
        decision = "liveness_failed"
    else:
        match = face_service.match_encodings(
            session=session,
            settings=settings,
            pensioner_id=pensioner.id,
            probes=[np.asarray(e) for e in result.track_encodings],
        )
        attempt.distance, attempt.score = match.distance, match.score
        reasons += match.reasons
        decision = {"match": "certified", "retry": "retry", "no_match": "no_match"}[match.decision]
        if decision == "certified" and not match.normalised and settings.face_app_requires_cohort:
            # Raw thresholds let ~19 % of East-Asian stranger pairs through (docs/accuracy.md): until enough
            # pensioners are enrolled to normalise scores, self-service cannot certify; staff channels can.
            decision = "retry"
            reasons.append("cohort_too_small")
        if decision == "certified":
            attempt.decision = "match"
            session.flush()
            cert = certification_service.record_certification(
                session=session,
                settings=settings,
                pensioner_id=pensioner.id,
                channel="app",
                now=now,
                attempt_id=attempt.id,
                evidence={"challenge_id": challenge.id, "actions": challenge.actions},
            )
            body["certification"] = {
                "id": cert.id,
                "season_year": cert.season_year,
                "channel": cert.channel,
                "certified_at": cert.certified_at.isoformat(),
            }
            face_service.add_rolling_template(
                session=session,
                settings=settings,
                pensioner_id=pensioner.id,
                result=match,
                encoding=np.asarray(result.track_encodings[0]),
                now=now,
            )
    if decision != "certified":
        attempt.decision = decision
    attempt.reasons = reasons
    challenge.result = decision
    session.flush()
    metrics.face_decision("app_certification", decision)
    audit.record(
        session=session,
        actor_type="pensioner",
        actor_id=pensioner.id,
        action=f"app_certification_{decision}",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"attempt": attempt.id, "reasons": reasons},
    )
    body.update({"decision": decision, "reasons": reasons, "advice": _advice(reasons), "attempt_id": attempt.id})
    return body
