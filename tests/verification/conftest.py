"""Fixtures for face-verification tests on the real photos in ../shared/faces."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import faces_dir as shared_faces
from verification.config import VerificationConfig
from verification.face import FaceAnalysis, analyse_face
from verification.image import decode_image


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The real face photo folder (PENSION_CERT_TEST_FACES or <repo>/../shared/faces)."""
    path = shared_faces()
    if path is None or not (path / "identities").is_dir():
        pytest.skip("real face photos not found at ../shared/faces (set PENSION_CERT_TEST_FACES)")
    return path


@pytest.fixture(scope="session")
def config() -> VerificationConfig:
    """The default configuration, as shipped."""
    return VerificationConfig()


@pytest.fixture(scope="session")
def analyse(faces_dir: Path, config: VerificationConfig) -> Callable[[str], FaceAnalysis]:
    """Analyse a photo by its path relative to the faces folder, once per session."""

    @cache
    def _analyse(relative: str) -> FaceAnalysis:
        rgb = decode_image((faces_dir / relative).read_bytes(), config=config)
        return analyse_face(rgb, config=config)

    return _analyse


COHORT_IDENTITIES = (
    "Ariel_Sharon",
    "Arnold_Schwarzenegger",
    "Daniel_Radcliffe",
    "Donald_Rumsfeld",
    "Drew_Barrymore",
    "George_W_Bush",
    "Halle_Berry",
    "Hugh_Laurie",
    "Hugo_Chavez",
    "Jennifer_Aniston",
    "Jennifer_Lopez",
    "Joe_Biden",
    "Kate_Winslet",
    "Leonardo_DiCaprio",
    "Lindsay_Lohan",
    "Mark_Ruffalo",
    "Robert_Downey_Jr",
    "Tom_Hanks",
    "Victoria_Beckham",
    "Vladimir_Putin",
    "deepface_id01",
    "deepface_id10",
)


@pytest.fixture(scope="session")
def cohort(faces_dir: Path, analyse: Callable[[str], FaceAnalysis]) -> np.ndarray:
    """Encodings of two photos each of 22 people who are never the pair under test."""
    encodings = []
    for identity in COHORT_IDENTITIES:
        photos = sorted((faces_dir / "identities" / identity).iterdir())[4:6]
        for photo in photos:
            try:
                encodings.append(analyse(str(photo.relative_to(faces_dir))).encoding)
            except Exception:  # a cohort photo without a usable face is simply left out
                continue
    return np.array(encodings)
