"""Active liveness on the face side: server-issued challenges, the recording's analysis and replay signatures."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import KeyRing, replay_signature_aad
from core.settings import Settings
from faces import matching as face_matching
from faces import pool as facepool
from faces import service as face_service
from faces.errors import (
    ChallengeGone,
    ChallengeNotFound,
    ChallengeUsed,
    ExemptionNotRecorded,
    FramesAndVideo,
    NoActionsLeft,
    NoFrames,
    RecordingRejected,
    TimestampsMissing,
    TooManyFrames,
    UnknownAction,
)
from faces.matching import DLIB, SFACE
from models import LivenessChallenge, Pensioner, ReplaySignature
from models.enums import AppDecision
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.image import decode_frame, image_sha256
from verification.liveness import (
    ACTIONS,
    SIGNATURE_VERSION,
    LivenessConfig,
    LivenessResult,
    ReplayConfig,
    analyse_sequence,
    face_signatures,
    pack_signatures,
    replay_fraction,
    unpack_signatures,
)
from verification.liveness import ADVICE as LIVENESS_ADVICE
from verification.pad import frame_evidence
from verification.video import VideoLimits, decode_video, subsample

MAX_FRAMES = 90
CAPTURE_FPS = 15
MAX_SIDE_PX = 960
MAX_FRAME_PIXELS = 4_000_000
MAX_VIDEO_SECONDS = 20


def capture_parameters(settings: Settings) -> dict[str, Any]:
    """What the app must record."""
    return {
        "frame_rate": CAPTURE_FPS,
        "min_frames": LivenessConfig().min_frames,
        "max_frames": MAX_FRAMES,
        "max_side_px": MAX_SIDE_PX,
        "frame_format": "image/jpeg",
        "max_frame_bytes": settings.max_frame_bytes,
        "video_formats": ["video/mp4", "video/webm"],
        "max_video_bytes": settings.max_video_bytes,
        "max_video_seconds": MAX_VIDEO_SECONDS,
    }


def create_challenge(
    *, session: Session, settings: Settings, pensioner_id: int, now: datetime, without: list[str]
) -> LivenessChallenge:
    """A random ordered 2–3 actions, single-use, bound to this pensioner; `without` drops actions the person cannot do."""
    unknown = set(without) - set(ACTIONS)
    if unknown:
        raise UnknownAction(sorted(unknown))
    pensioner = session.get(Pensioner, pensioner_id)
    not_recorded = sorted(set(without) - set(pensioner.action_exemptions if pensioner else []))
    if not_recorded:
        raise ExemptionNotRecorded(not_recorded)
    face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=pensioner_id, now=now)
    allowed = [a for a in ACTIONS if a not in without]
    if not allowed:
        raise NoActionsLeft()
    rng = secrets.SystemRandom()
    count = min(len(allowed), rng.choice((2, 3)))
    actions = rng.sample(allowed, count)
    if len(actions) < 2:
        actions = actions * 2  # one possible action: ask for it twice
    challenge = LivenessChallenge(
        id=str(uuid.uuid4()),
        pensioner_id=pensioner_id,
        actions=actions,
        exempted=sorted(set(without)),
        expires_at=now + timedelta(seconds=settings.challenge_ttl_seconds),
        created_at=now,
    )
    session.add(challenge)
    session.flush()
    return challenge


def set_action_exemptions(
    *, session: Session, pensioner: Pensioner, actions: list[str], reason: str, staff_id: int
) -> list[str]:
    """Record the liveness actions this person cannot perform (staff only, audited with the reason)."""
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise UnknownAction(sorted(unknown))
    if set(actions) >= set(ACTIONS) - {"blink"}:
        actions = sorted(set(ACTIONS) - {"blink"})  # a blink is always asked: it is the one action left
    before = list(pensioner.action_exemptions or [])
    pensioner.action_exemptions = sorted(set(actions) - {"blink"})
    audit.record(
        session=session,
        actor_type="staff",
        actor_id=staff_id,
        action="liveness_exemptions_set",
        target_type="pensioner",
        target_id=pensioner.id,
        detail={"before": before, "after": pensioner.action_exemptions, "reason": reason},
    )
    session.flush()
    return list(pensioner.action_exemptions)


def check_recording(frames: list[bytes], timestamps_ms: list[int], video: bytes | None) -> None:
    """Refuse an answer that is not either one video or up to MAX_FRAMES frames each with a capture time."""
    if video is not None and frames:
        raise FramesAndVideo()
    if video is None:
        if not frames:
            raise NoFrames()
        if len(frames) > MAX_FRAMES:
            raise TooManyFrames(MAX_FRAMES)
        if len(timestamps_ms) != len(frames):
            raise TimestampsMissing()


def claim_challenge(*, session: Session, pensioner_id: int, challenge_id: str, now: datetime) -> LivenessChallenge:
    """Lock the pensioner's open challenge and mark it used (the answer is its only use)."""
    challenge = session.get(LivenessChallenge, challenge_id, with_for_update=True)
    if challenge is None or challenge.pensioner_id != pensioner_id:
        raise ChallengeNotFound()
    if challenge.used_at is not None:
        raise ChallengeUsed()
    if challenge.expires_at <= now:
        raise ChallengeGone()
    challenge.used_at = now
    return challenge


def recording_sha256(frames: list[bytes], video: bytes | None) -> str:
    """The digest kept on the attempt instead of the recording."""
    return image_sha256(video if video is not None else b"".join(frames))


@dataclass
class AnalysedSubmission:
    """What the face pool returns for a submission."""

    result: LivenessResult | None
    signatures: bytes = b""  # pack_signatures() of the frames with a face (replay check)
    error: tuple[str, str, str] | None = None  # code, zh, en
    sface: list[np.ndarray] = field(default_factory=list)  # SFace vectors of the encoded (best) frames
    pad_real: float | None = None  # median P(real) over those frames


def analyse_submission(
    frames: list[bytes],
    timestamps_ms: list[int],
    video: bytes | None,
    actions: list[str],
    max_frame_bytes: int,
    max_video_bytes: int,
    sface: bool = False,
    pad: bool = False,
    mirrored: bool = False,
    dlib: bool = True,
) -> AnalysedSubmission:
    """Decode frames or video, run the liveness analysis, SFace and anti-spoofing on its best frames (face pool).

    With ``sface`` the track's identity check runs on SFace vectors (which are the evidence vectors too) and
    dlib encodes the best frames only when ``dlib`` asks for it (the pensioner is still decided by dlib, or
    SFace found no face of its own); without ``sface`` dlib does both, as before.

    ``mirrored``: the app sent its selfie preview (flipped left-right); the frames are flipped back first,
    so that head turns keep the person's own direction and the match, anti-spoofing and replay hashes see
    the camera's image (a mirrored face matches its unmirrored enrolment worse, docs/liveness.md).
    """
    config = LivenessConfig()
    try:
        if video is not None:
            decoded = decode_video(video, limits=VideoLimits(max_bytes=max_video_bytes))
            rgb, times = decoded.frames, decoded.timestamps_ms
        else:
            face_cfg = VerificationConfig(max_image_bytes=max_frame_bytes, max_image_pixels=MAX_FRAME_PIXELS)
            rgb = [decode_frame(b, config=face_cfg) for b in frames]
            rgb, times = subsample(rgb, timestamps_ms, CAPTURE_FPS) if len(rgb) > 1 else (rgb, timestamps_ms)
    except VerificationError as exc:
        return AnalysedSubmission(result=None, error=(exc.code, exc.message_zh, exc.message_en))
    if mirrored:
        rgb = [np.ascontiguousarray(f[:, ::-1]) for f in rgb]
    models = (SFACE, *((DLIB,) if dlib else ())) if sface else (DLIB,)
    result = analyse_sequence(rgb, times, actions, config=config, models=models)
    signatures = pack_signatures(face_signatures(rgb, result.landmarks), times) if result.landmarks else b""
    result.landmarks = []  # not needed past this point; keeps the answer from the face pool small
    found = {e.index: (e.detected, e.vector) for e in result.sface_faces} if sface else None
    result.sface_faces = []
    vectors, pad_real = frame_evidence(rgb, result.encoded_frame_indices, sface=sface, pad=pad, found=found)
    return AnalysedSubmission(result=result, signatures=signatures, sface=vectors, pad_real=pad_real)


def analyse_recording(
    *,
    settings: Settings,
    actions: list[str],
    frames: list[bytes],
    timestamps_ms: list[int],
    video: bytes | None,
    mirrored: bool = False,
    models: tuple[str, ...] | None = None,
) -> AnalysedSubmission:
    """Liveness result, replay signatures, SFace vectors and P(real), from the face pool; RecordingRejected if undecodable.

    ``models``: the probe models the pensioner's decision needs (``faces.matching.probe_models``); default all
    active models.
    """
    active = face_matching.active_models(settings)
    wanted = set(active if models is None else models) & set(active)
    sface = SFACE in active
    analysed = facepool.run(
        analyse_submission,
        frames,
        timestamps_ms,
        video,
        actions,
        settings.max_frame_bytes,
        settings.max_video_bytes,
        sface,
        settings.face_pad_enabled,
        mirrored,
        DLIB in wanted,
    )
    if analysed.error is not None:
        raise RecordingRejected(*analysed.error)
    assert analysed.result is not None
    return analysed


def _replay_aad(pensioner_id: int, challenge_id: str) -> bytes:
    """Binds stored signatures to their pensioner and challenge (one rule with key rotation: core.crypto)."""
    return replay_signature_aad(pensioner_id, challenge_id)


def _certified_signatures(*, session: Session, ring: KeyRing, pensioner_id: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(times, vectors) of every certified app answer of this pensioner, all seasons; unreadable rows are skipped."""
    rows = session.scalars(
        select(ReplaySignature)
        .join(LivenessChallenge, LivenessChallenge.id == ReplaySignature.challenge_id)
        .where(
            ReplaySignature.pensioner_id == pensioner_id,
            ReplaySignature.version == SIGNATURE_VERSION,
            ReplaySignature.frame_count > 0,
            LivenessChallenge.result == AppDecision.CERTIFIED.value,
        )
    )
    out = []
    for row in rows:
        if not ring.has(row.key_id):
            continue  # written under a key that was since removed
        blob = ring.decrypt(row.signatures, key_id=row.key_id, aad=_replay_aad(pensioner_id, row.challenge_id))
        out.append(unpack_signatures(blob))
    return out


def remember_frames(
    *,
    session: Session,
    settings: Settings,
    pensioner_id: int,
    season_year: int | None,
    challenge_id: str,
    signatures: bytes,
    now: datetime,
) -> bool:
    """Store this answer's signatures; True when they replay the frames of a certified answer (any season).

    Failed answers are stored but never compared against: a second honest try in the same room is not a replay.
    """
    ring = KeyRing.from_settings(settings)
    new_ms, new = unpack_signatures(signatures)
    config = ReplayConfig()
    replayed = any(
        replay_fraction(new, new_ms, old, old_ms, config=config) >= config.min_fraction
        for old_ms, old in _certified_signatures(session=session, ring=ring, pensioner_id=pensioner_id)
    )
    blob, key_id = ring.encrypt(signatures, aad=_replay_aad(pensioner_id, challenge_id))
    session.add(
        ReplaySignature(
            pensioner_id=pensioner_id,
            challenge_id=challenge_id,
            season_year=season_year,
            version=SIGNATURE_VERSION,
            frame_count=len(new),
            signatures=blob,
            key_id=key_id,
            created_at=now,
        )
    )
    return replayed


def add_liveness_advice(advice: list[dict[str, str]], reasons: list[str]) -> list[dict[str, str]]:
    """Append the advice for each liveness reason not advised on yet."""
    for r in reasons:
        if r in LIVENESS_ADVICE and not any(a["reason"] == r for a in advice):
            advice.append({"reason": r, "zh": LIVENESS_ADVICE[r][0], "en": LIVENESS_ADVICE[r][1]})
    return advice
