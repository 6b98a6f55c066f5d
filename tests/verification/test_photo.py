"""The reduced decode of the SFace-only photo check: same upright image as decode_image, same refusals."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.image import decode_image
from verification.photo import decode_reduced, five_point_pose

CONFIG = VerificationConfig()


def _phone_jpeg(orientation: int) -> bytes:
    """A 4032x3024 JPEG with an asymmetric pattern and the given EXIF orientation."""
    rgb = np.zeros((3024, 4032, 3), dtype=np.uint8)
    rgb[:600, :900] = (255, 0, 0)  # a red block top-left
    rgb[-400:, -1500:] = (0, 0, 255)  # a blue block bottom-right
    cv2.circle(rgb, (3000, 700), 300, (0, 255, 0), -1)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_decode_is_decode_image_smaller(orientation: int) -> None:
    data = _phone_jpeg(orientation)
    reference = decode_image(data, config=CONFIG)  # Pillow, draft at 1/2, exif_transpose
    decoded = decode_reduced(data, config=CONFIG, min_side=640)
    assert max(decoded.rgb.shape[:2]) == 1008 and decoded.reference_scale == 2.0  # 1/4 against decode_image's 1/2
    small = cv2.resize(reference, (decoded.rgb.shape[1], decoded.rgb.shape[0]), interpolation=cv2.INTER_AREA)
    assert float(np.mean(np.abs(small.astype(int) - decoded.rgb.astype(int)))) < 2.0


def test_cut_off_large_jpeg_is_refused_as_truncated() -> None:
    data = _phone_jpeg(1)
    with pytest.raises(VerificationError) as exc:
        decode_reduced(data[: len(data) // 2], config=CONFIG, min_side=640)
    assert exc.value.code == "truncated_image"


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(VerificationError) as exc:
        decode_reduced(_phone_jpeg(1), config=VerificationConfig(max_image_pixels=1_000_000), min_side=640)
    assert exc.value.code == "image_too_many_pixels"


def test_five_point_yaw_reads_a_turn() -> None:
    frontal = np.array([[40.0, 50.0], [80.0, 50.0], [60.0, 76.0], [45.0, 95.0], [75.0, 95.0]])
    turned = frontal.copy()
    turned[2, 0] += 0.6 * 40  # nose tip shifted by 0.6 eye spans
    assert abs(five_point_pose(frontal)[0]) < 1.0 and abs(five_point_pose(frontal)[1]) < 1.0
    assert five_point_pose(turned)[0] > 27.0  # beyond the head_turned gate
