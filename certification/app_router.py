"""The pensioner's own app endpoints: identity, liveness challenges and app certification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile

from certification import app as liveness_service
from certification import attestation
from certification.schemas import ChallengeIn, MeOut
from core.clock import NowDep
from core.deps import CurrentPensioner, SessionDep, SettingsDep
from core.errors import InvalidInput
from core.idempotency import check_key, fingerprint, run_once
from core.uploads import read_limited

router = APIRouter(prefix="/me", tags=["pensioner app"])


@router.get("", response_model=MeOut)
def me(pensioner: CurrentPensioner) -> MeOut:
    """Who is logged in."""
    nid = pensioner.national_id
    return MeOut(
        id=pensioner.id,
        name=pensioner.name,
        national_id_masked=nid[:6] + "********" + nid[-4:],
        pension_status=pensioner.pension_status,
        status_since=pensioner.status_since,
    )


@router.post("/liveness-challenges", status_code=201)
def new_challenge(
    pensioner: CurrentPensioner,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: ChallengeIn | None = None,
) -> dict[str, Any]:
    """A random ordered list of 2–3 actions to perform on camera, valid for a short time and usable once.

    Accessibility: a pensioner who cannot do an action (e.g. turn the head) sends
    `{"without": ["turn_left", "turn_right"]}` and gets a challenge without it.
    """
    challenge = liveness_service.create_challenge(
        session=session, settings=settings, pensioner=pensioner, now=now, without=body.without if body else []
    )
    return {
        "challenge_id": challenge.id,
        "actions": challenge.actions,
        "expires_at": challenge.expires_at.isoformat(),
        "capture": liveness_service.capture_parameters(settings),
    }


def _timestamps(raw: str | None, frames: list[UploadFile]) -> list[int]:
    try:
        if raw:
            return [int(x) for x in raw.replace(" ", "").split(",") if x]
        return [int((f.filename or "").rsplit("/", 1)[-1].split(".")[0]) for f in frames]
    except ValueError:
        raise InvalidInput(
            "画面拍摄时间格式不正确。",
            "Capture times must be integers in ms (timestamps_ms or <ms>.jpg names).",
            code="bad_timestamps",
        )


@router.post("/certifications")
def certify(
    pensioner: CurrentPensioner,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    challenge_id: Annotated[str, Form(max_length=36)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    frames: Annotated[list[UploadFile] | None, File(description="JPEG frames in capture order")] = None,
    timestamps_ms: Annotated[str | None, Form(description="Comma-separated capture times (ms), one per frame")] = None,
    video: Annotated[UploadFile | None, File(description="One short MP4 or WebM instead of frames")] = None,
    device_attestation: Annotated[str | None, Form(description="Play Integrity / App Attest token")] = None,
) -> dict[str, Any]:
    """Answer a liveness challenge; a live, matching face certifies the season (channel `app`)."""
    key = check_key(idempotency_key)
    attestation.check(device_attestation, settings=settings)
    frame_list = frames or []
    frame_bytes = [read_limited(f, 2 * 1024 * 1024) for f in frame_list[: liveness_service.MAX_FRAMES + 1]]
    video_bytes = read_limited(video, 30 * 1024 * 1024) if video is not None else None
    times = _timestamps(timestamps_ms, frame_list) if frame_list else []
    request_hash = fingerprint(challenge_id, timestamps_ms or "", video_bytes or b"", *frame_bytes)

    def action() -> tuple[int, dict[str, Any]]:
        body = liveness_service.submit(
            session=session,
            settings=settings,
            pensioner=pensioner,
            challenge_id=challenge_id,
            frames=frame_bytes,
            timestamps_ms=times,
            video=video_bytes,
            now=now,
        )
        return 200, body

    _, body, replayed = run_once(
        session=session, scope=f"pensioner:{pensioner.id}:certify", key=key, request_hash=request_hash, action=action
    )
    return body | {"replayed": replayed}
