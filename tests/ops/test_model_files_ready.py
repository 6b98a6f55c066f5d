"""An altered face-model file: /readyz answers 503 and says which file, and the face pool refuses to start."""

from __future__ import annotations

import dataclasses

import pytest

from faces import pool as facepool
from verification import pad
from verification.errors import ModelFileError


@pytest.fixture
def altered_pad_model(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """MiniFASNet V2 expected with another sha256, as if the shipped file had been replaced."""
    (first, scale), *rest = pad.PAD_MODELS
    wrong = dataclasses.replace(first, sha256="0" * 64)
    monkeypatch.setattr(pad, "PAD_MODELS", ((wrong, scale), *rest))
    pad.presentation_detector.cache_clear()
    yield first.filename
    pad.presentation_detector.cache_clear()


def test_readyz_names_the_altered_file(client, altered_pad_model: str) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "unavailable" and altered_pad_model in resp.json()["models"]


def test_the_face_pool_does_not_start_with_an_altered_file(altered_pad_model: str) -> None:
    with pytest.raises(ModelFileError, match="altered"):
        facepool.warm()


def test_readyz_ok_with_the_shipped_files(client) -> None:
    assert client.get("/readyz").json() == {"status": "ok", "database": "up"}
