"""Safe decoding: formats, limits, truncation and EXIF orientation, on real files."""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import analyse_face, detect_faces
from verification.image import decode_image, downscale, image_sha256


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a tiny IDAT: nothing large is ever allocated."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    )


def _code(data: bytes, config: VerificationConfig) -> str:
    with pytest.raises(VerificationError) as info:
        decode_image(data, config=config)
    assert info.value.message_zh and info.value.message_en
    return info.value.code


def test_decodes_jpeg_and_png_to_rgb(faces_dir: Path, config: VerificationConfig) -> None:
    jpeg = decode_image((faces_dir / "identities/Colin_Powell/1.jpg").read_bytes(), config=config)
    png = decode_image((faces_dir / "identities/Barack_Obama/8.png").read_bytes(), config=config)
    assert jpeg.shape == (250, 250, 3) and jpeg.dtype == np.uint8
    assert png.shape == (112, 112, 3)


def test_not_an_image(faces_dir: Path, config: VerificationConfig) -> None:
    assert _code(b"hello, this is text", config) == "not_an_image"
    # A WebP file saved with a .jpg name: only JPEG and PNG are accepted.
    assert _code((faces_dir / "identities/deepface_id03/3.jpg").read_bytes(), config) == "not_an_image"


def test_truncated_jpeg(faces_dir: Path, config: VerificationConfig) -> None:
    data = (faces_dir / "identities/Kit_Harington/1.jpeg").read_bytes()
    assert _code(data[: len(data) // 2], config) == "truncated_image"


def test_byte_limit_checked_first(config: VerificationConfig) -> None:
    assert _code(b"\xff\xd8\xff" + b"\x00" * config.max_image_bytes, config) == "image_too_large"


def test_pixel_limit_checked_from_header(config: VerificationConfig) -> None:
    bomb = _png_header(20_000, 20_000)
    assert len(bomb) < 200
    assert _code(bomb, config) == "image_too_many_pixels"
    # Below Pillow's own bomb limit but above ours: our header check refuses it.
    assert _code(_png_header(7_000, 7_000), config) == "image_too_many_pixels"


def test_exif_orientation_applied(faces_dir: Path, config: VerificationConfig) -> None:
    path = faces_dir / "spoof/real/silentface_image_T1.jpg"
    with Image.open(path) as raw:
        assert raw.getexif().get(0x0112) == 6
        stored = np.asarray(raw.convert("RGB"))
    upright = decode_image(path.read_bytes(), config=config)
    assert upright.shape[:2] == stored.shape[1::-1]  # rotated by 90 degrees
    assert detect_faces(stored, config=config) == []  # the sideways face is not found
    assert analyse_face(upright, config=config).encoding.shape == (128,)


def test_downscale_and_sha(config: VerificationConfig) -> None:
    rgb = np.zeros((4032, 3024, 3), dtype=np.uint8)
    small, scale = downscale(rgb, 640)
    assert small.shape[:2] == (640, 480) and scale == pytest.approx(640 / 4032)
    same, one = downscale(small, 800)
    assert same is small and one == 1.0
    assert image_sha256(b"abc").startswith("ba7816bf")
    assert replace(config, max_image_bytes=1).max_image_bytes == 1


def test_decode_frame_gives_decode_image_pixels_and_refusals(faces_dir: Path, config: VerificationConfig) -> None:
    """The liveness frames' OpenCV path: the same pixels, EXIF rotation and refusals as decode_image."""
    import cv2

    from verification.image import decode_frame

    video = cv2.VideoCapture(str(faces_dir / "video/blink/blink_detector_video.mp4"))
    frames = [video.read()[1] for _ in range(5)]
    video.release()
    for bgr in frames:  # answer frames as the app sends them (JPEG q90)
        data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        assert np.array_equal(decode_frame(data, config=config), decode_image(data, config=config))
        with pytest.raises(VerificationError) as info:
            decode_frame(data[: len(data) - 40], config=config)
        assert info.value.code == "truncated_image"
    for path in (
        "spoof/real/silentface_image_T1.jpg",
        "identities/Colin_Powell/1.jpg",
        "identities/Barack_Obama/8.png",
    ):
        data = (faces_dir / path).read_bytes()  # EXIF orientation 6 (a 12 MP photo, drafted), plain JPEG, PNG
        assert np.array_equal(decode_frame(data, config=config), decode_image(data, config=config)), path
    import io

    rotated = Image.fromarray(frames[0][:, :, ::-1].copy())
    exif = rotated.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    rotated.save(buffer, "JPEG", quality=90, exif=exif)  # a frame-sized JPEG stored sideways
    upright = decode_frame(buffer.getvalue(), config=config)
    assert upright.shape[:2] == frames[0].shape[1::-1]
    assert np.array_equal(upright, decode_image(buffer.getvalue(), config=config))
    for bad in (b"hello, this is text", b"\xff\xd8\xff" + b"\x00" * config.max_image_bytes):
        with pytest.raises(VerificationError):
            decode_frame(bad, config=config)
