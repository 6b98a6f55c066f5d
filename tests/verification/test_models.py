"""The face-model seam on real photos: dlib unchanged behind it, SFace matches and separates, files checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from verification import model_files
from verification.config import VerificationConfig
from verification.errors import ModelFileError, VerificationError
from verification.face import analyse_face
from verification.image import decode_image
from verification.models import (
    SFACE_MATCH_DISTANCE,
    DlibFaceModel,
    SFaceModel,
    embed_face,
    l2_normalise,
    sface_model,
)


def _rgb(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), config=VerificationConfig())


def _sface_distance(a: Path, b: Path) -> float:
    model = sface_model()
    return model.distance(embed_face(model, _rgb(a))[1], embed_face(model, _rgb(b))[1])


def test_dlib_model_gives_the_shipped_encoding(faces_dir: Path) -> None:
    rgb = _rgb(faces_dir / "identities" / "Colin_Powell" / "1.jpg")
    shipped = analyse_face(rgb, config=VerificationConfig()).encoding
    face, vector = embed_face(DlibFaceModel(), rgb)
    assert face.landmarks5.shape == (5, 2) and face.points.shape == (68, 2)
    assert float(vector @ l2_normalise(shipped)) > 0.99999


def test_sface_detects_one_face_with_five_landmarks(faces_dir: Path) -> None:
    faces = sface_model().detect(_rgb(faces_dir / "spoof" / "real" / "silentface_image_T1.jpg"))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    right_eye, left_eye = faces[0].landmarks5[0], faces[0].landmarks5[1]
    assert x < right_eye[0] < left_eye[0] < x + w and y < right_eye[1] < y + h
    assert faces[0].score > 0.8


def test_sface_embedding_is_unit_length(faces_dir: Path) -> None:
    _, vector = embed_face(sface_model(), _rgb(faces_dir / "identities" / "Tony_Blair" / "1.jpg"))
    assert vector.shape == (128,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-9


def test_sface_same_person_pair_matches(faces_dir: Path) -> None:
    folder = faces_dir / "east_asian" / "identities" / "Hu_Jintao"
    assert _sface_distance(folder / "Hu_Jintao_0001.jpg", folder / "Hu_Jintao_0002.jpg") <= SFACE_MATCH_DISTANCE


def test_sface_east_asian_strangers_do_not_match(faces_dir: Path) -> None:
    people = faces_dir / "east_asian" / "identities"
    a = people / "Wen_Jiabao" / "Wen_Jiabao_0001.jpg"
    b = people / "Zhu_Rongji" / "Zhu_Rongji_0001.jpg"
    assert _sface_distance(a, b) > SFACE_MATCH_DISTANCE


def test_no_face_is_a_verification_error() -> None:
    with pytest.raises(VerificationError) as caught:
        embed_face(sface_model(), np.full((240, 320, 3), 128, dtype=np.uint8))
    assert caught.value.code == "no_face"


def _copy_models(target: Path) -> None:
    for model in (model_files.YUNET, model_files.SFACE):
        shutil.copyfile(model.path(), target / model.filename)


def test_altered_sface_file_is_refused(tmp_path: Path) -> None:
    _copy_models(tmp_path)
    path = tmp_path / model_files.SFACE.filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="altered"):
        SFaceModel(models_dir=tmp_path)


def test_missing_yunet_file_is_refused(tmp_path: Path) -> None:
    _copy_models(tmp_path)
    (tmp_path / model_files.YUNET.filename).unlink()
    with pytest.raises(ModelFileError, match="missing"):
        SFaceModel(models_dir=tmp_path)


def test_stripped_sface_keeps_only_the_image_input() -> None:
    original = model_files.load(model_files.SFACE)
    assert len(onnx.load_from_string(original).graph.input) == 175
    stripped = onnx.load_from_string(model_files.strip_unused_inputs(original))
    assert [i.name for i in stripped.graph.input] == ["data"]
    assert len(stripped.graph.node) == len(onnx.load_from_string(original).graph.node)


def test_detect_near_finds_the_face_detect_finds(faces_dir: Path) -> None:
    model = sface_model()
    rgb = _rgb(faces_dir / "spoof" / "real" / "silentface_image_T1.jpg")
    whole = model.detect(rgb)[0]
    near = model.detect_near(rgb, whole.box)
    assert len(near) == 1
    # YuNet's points are coarse: the whole photo shifted by 8 px moves them by up to 10 px (0.06 face widths) here.
    assert np.abs(near[0].landmarks5 - whole.landmarks5).max() < 0.1 * whole.box[2]
    assert model.distance(model.embed(model.align(rgb, near[0])), model.embed(model.align(rgb, whole))) < 0.1
