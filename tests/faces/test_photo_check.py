"""The photo check of a pensioner SFace decides for runs no dlib; a legacy dlib-only pensioner keeps dlib."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from face_recognition import api as fr
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from faces import matching as face_matching
from faces import pool as facepool
from faces import search_index
from faces import service as face_service
from faces.errors import FaceRejected
from models import FaceTemplate
from tests import factories
from tests.conftest import faces_dir

SAME_1, SAME_2 = "identities/Jacky_Cheung/1.jpg", "identities/Jacky_Cheung/2.jpg"
STRANGER = "impostors_single/Wang_Yi.jpg"  # East-Asian, not Jacky Cheung


@pytest.fixture(scope="module")
def faces() -> Path:
    """The shared real-face folder."""
    root = faces_dir()
    if root is None or not (root / SAME_1).is_file() or not (root / STRANGER).is_file():
        pytest.skip("real face photos not found at ../shared/faces (set PENSION_CERT_TEST_FACES)")
    return root


@pytest.fixture(autouse=True)
def inline_pool() -> None:
    """Face work inline, in this process, where the monkeypatches apply."""
    facepool.configure(-1)


def _no_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every dlib call (HOG detector, 68 landmarks, ResNet encoder) fail loudly."""

    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("dlib ran on an SFace-decided photo check")

    class Encoder:
        compute_face_descriptor = staticmethod(boom)

    monkeypatch.setattr(fr, "face_detector", boom)
    monkeypatch.setattr(fr, "pose_predictor_68_point", boom)
    monkeypatch.setattr(fr, "face_encoder", Encoder())


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _enrol(session: Session, settings: Settings, photo: bytes) -> int:
    search_index.reset()
    factories.seed_regions(session)
    pensioner = factories.pensioner(session)
    face_service.enrol(
        session=session,
        settings=settings,
        pensioner_id=pensioner.id,
        photos=[photo],
        source="counter",
        consent_method="paper_form",
        staff_id=None,
        now=factories.FIXED_NOW,
    )
    return pensioner.id


def _verify(session: Session, settings: Settings, pensioner_id: int, photo: bytes) -> face_service.VerifyOutcome:
    return face_service.verify_photo(
        session=session,
        settings=settings,
        pensioner_id=pensioner_id,
        photo=photo,
        channel="counter",
        staff_id=None,
        now=factories.FIXED_NOW,
    )


def test_sface_pensioner_is_checked_without_dlib(
    faces: Path, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _enrol(session, settings, (faces / SAME_1).read_bytes())
    assert set(session.scalars(select(FaceTemplate.model).where(FaceTemplate.pensioner_id == pid))) == {"dlib", "sface"}
    _no_dlib(monkeypatch)
    same = _verify(session, settings, pid, (faces / SAME_2).read_bytes())
    assert same.attempt.decision == "match", (same.attempt.decision, same.attempt.reasons, same.attempt.distance)
    stranger = _verify(session, settings, pid, (faces / STRANGER).read_bytes())
    assert stranger.attempt.decision == "no_match", (stranger.attempt.decision, stranger.attempt.reasons)
    # A 12 MP phone JPEG goes through the reduced (1/4) decode and still matches.
    rgb = _rgb(faces / SAME_2)
    big = cv2.resize(rgb, (3024, 3024), interpolation=cv2.INTER_CUBIC)
    big = cv2.copyMakeBorder(big, 504, 504, 0, 0, cv2.BORDER_REPLICATE)
    large = _verify(session, settings, pid, _jpeg(big))
    assert large.attempt.decision == "match", (large.attempt.decision, large.attempt.reasons)


def test_quality_refusals_keep_their_codes_without_dlib(
    faces: Path, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _enrol(session, settings, (faces / SAME_1).read_bytes())
    _no_dlib(monkeypatch)
    blank = np.full((480, 640, 3), 128, dtype=np.uint8)
    with pytest.raises(FaceRejected) as none:
        _verify(session, settings, pid, _jpeg(blank))
    assert none.value.code == "no_face"
    two = np.hstack([_rgb(faces / STRANGER), _rgb(faces / STRANGER)[:, ::-1]])  # two comparable faces
    with pytest.raises(FaceRejected) as several:
        _verify(session, settings, pid, _jpeg(np.ascontiguousarray(two)))
    assert several.value.code == "multiple_faces"
    small = blank.copy()
    small[180:300, 260:380] = cv2.resize(_rgb(faces / STRANGER), (120, 120), interpolation=cv2.INTER_AREA)
    outcome = _verify(session, settings, pid, _jpeg(small))
    assert outcome.attempt.decision == "retry" and "face_too_small" in outcome.reasons, outcome.reasons


def test_legacy_dlib_pensioner_is_still_decided_by_dlib(
    faces: Path, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dlib_only = settings.model_copy(update={"face_models": "dlib"})
    pid = _enrol(session, dlib_only, (faces / SAME_1).read_bytes())
    assert set(session.scalars(select(FaceTemplate.model).where(FaceTemplate.pensioner_id == pid))) == {"dlib"}
    calls: list[int] = []
    deciding: list[str] = []
    real_analyse, real_match = facepool.analyse_face, face_matching.match

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real_analyse(*args, **kwargs)  # type: ignore[arg-type]

    def seen(**kwargs: object) -> face_matching.ModelMatch:
        decided = real_match(**kwargs)  # type: ignore[arg-type]
        deciding.append(decided.model)
        return decided

    monkeypatch.setattr(facepool, "analyse_face", counted)
    monkeypatch.setattr(face_matching, "match", seen)
    outcome = _verify(session, settings, pid, (faces / SAME_2).read_bytes())
    assert calls and deciding == ["dlib"], (calls, deciding)
    assert outcome.attempt.decision == "match", (outcome.attempt.decision, outcome.attempt.reasons)
