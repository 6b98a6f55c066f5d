"""The pensioner's own app endpoints: identity, liveness challenges and app certification."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile

from certification import app_channel, attestation
from certification.schemas import (
    AppAnswerOut,
    AppCertificationOut,
    AppCertificationRef,
    CaptureOut,
    ChallengeIn,
    ChallengeOut,
    MeOut,
    StepOut,
)
from core.clock import NowDep
from core.deps import CurrentLogin, CurrentPensioner, SessionDep, SettingsDep
from core.idempotency import check_key, fingerprint, run_once
from core.uploads import read_limited
from faces import liveness
from faces.errors import TimestampsUnreadable
from faces.schemas import AdviceOut

router = APIRouter(prefix="/me", tags=["pensioner app"])


@router.get("", response_model=MeOut)
def me(login: CurrentLogin) -> MeOut:
    """Whose certification this login is for, and the family helper using it (masked phone), if any."""
    pensioner, helper = login.pensioner, login.helper_phone
    nid = pensioner.national_id
    return MeOut(
        id=pensioner.id,
        name=pensioner.name,
        national_id_masked=nid[:6] + "********" + nid[-4:],
        pension_status=pensioner.pension_status,
        status_since=pensioner.status_since,
        acting="family_helper" if helper else "self",
        helper_phone_masked=None if helper is None else helper[:3] + "****" + helper[-4:],
    )


@router.post("/liveness-challenges", status_code=201)
def new_challenge(
    pensioner: CurrentPensioner,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: ChallengeIn | None = None,
) -> ChallengeOut:
    """A random ordered list of 2–3 actions to perform on camera, valid for a short time and usable once.

    Accessibility: a pensioner who cannot do an action (e.g. turn the head) sends
    `{"without": ["turn_left", "turn_right"]}` and gets a challenge without it.
    """
    challenge = liveness.create_challenge(
        session=session, settings=settings, pensioner_id=pensioner.id, now=now, without=body.without if body else []
    )
    return ChallengeOut(
        challenge_id=challenge.id,
        actions=challenge.actions,
        expires_at=challenge.expires_at.isoformat(),
        capture=CaptureOut(**liveness.capture_parameters(settings)),
    )


def _timestamps(raw: str | None, frames: list[UploadFile]) -> list[int]:
    try:
        if raw:
            return [int(x) for x in raw.replace(" ", "").split(",") if x]
        return [int((f.filename or "").rsplit("/", 1)[-1].split(".")[0]) for f in frames]
    except ValueError:
        raise TimestampsUnreadable()


@router.post("/certifications")
def certify(
    login: CurrentLogin,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    challenge_id: Annotated[str, Form(max_length=36)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    frames: Annotated[list[UploadFile] | None, File(description="JPEG frames in capture order")] = None,
    timestamps_ms: Annotated[str | None, Form(description="Comma-separated capture times (ms), one per frame")] = None,
    video: Annotated[UploadFile | None, File(description="One short MP4 or WebM instead of frames")] = None,
    device_attestation: Annotated[str | None, Form(description="Play Integrity / App Attest token")] = None,
    mirrored: Annotated[
        bool,
        Form(
            description="true when the frames or video are the mirrored selfie preview (flipped left-right); "
            "false (default) for the camera's own image. Head turns are the person's own left and right."
        ),
    ] = False,
) -> AppCertificationOut:
    """Answer a liveness challenge; a live, matching face certifies the season (channel `app`)."""
    key = check_key(idempotency_key)
    pensioner = login.pensioner
    attestation.check(device_attestation, settings=settings)
    frame_list = frames or []
    frame_bytes = [read_limited(f, settings.max_frame_bytes) for f in frame_list[: liveness.MAX_FRAMES + 1]]
    video_bytes = read_limited(video, settings.max_video_bytes) if video is not None else None
    times = _timestamps(timestamps_ms, frame_list) if frame_list else []
    # Mirroring changes the answer, so it is part of the request; unmirrored requests keep their old fingerprint.
    parts: list[bytes | str] = [challenge_id, timestamps_ms or "", video_bytes or b"", *frame_bytes]
    request_hash = fingerprint("mirrored", *parts) if mirrored else fingerprint(*parts)

    def action() -> tuple[int, dict[str, Any]]:
        answer = app_channel.submit(
            session=session,
            settings=settings,
            pensioner=pensioner,
            challenge_id=challenge_id,
            frames=frame_bytes,
            timestamps_ms=times,
            video=video_bytes,
            now=now,
            mirrored=mirrored,
            helper_phone=login.helper_phone,
        )
        return 200, _answer_body(answer).model_dump(mode="json")

    _, body, replayed = run_once(
        session=session, scope=f"pensioner:{pensioner.id}:certify", key=key, request_hash=request_hash, action=action
    )
    return AppCertificationOut.model_validate(body | {"replayed": replayed})


def _answer_body(answer: app_channel.AppAnswer) -> AppAnswerOut:
    """The JSON answer of a liveness answer (stored for Idempotency-Key replays)."""
    cert = answer.certification
    return AppAnswerOut(
        decision=answer.decision,
        reasons=answer.reasons,
        advice=[AdviceOut(**a) for a in app_channel.advice_for(answer.reasons)],
        steps=[StepOut(**asdict(s)) for s in answer.steps],
        certification=None
        if cert is None
        else AppCertificationRef(
            id=cert.id,
            season_year=cert.season_year,
            channel=cert.channel,
            certified_at=cert.certified_at.isoformat(),
        ),
        attempt_id=None if answer.attempt is None else answer.attempt.id,
    )
