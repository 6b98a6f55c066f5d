"""Safe decoding of uploaded photos: JPEG and PNG only, size and pixel limits before decoding."""

from __future__ import annotations

import hashlib
import io
import math
import warnings

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from verification.config import VerificationConfig
from verification.errors import VerificationError

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sniff_format(data: bytes) -> str | None:
    """'JPEG' or 'PNG' from the magic bytes, else None."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    return None


def image_sha256(data: bytes) -> str:
    """Hex SHA-256 of the uploaded bytes (for audit and duplicate detection)."""
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, *, config: VerificationConfig) -> np.ndarray:
    """Decode JPEG/PNG bytes into an upright RGB uint8 array, or raise VerificationError."""
    if len(data) > config.max_image_bytes:
        raise VerificationError("image_too_large", f"{len(data)} bytes > {config.max_image_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise VerificationError("not_an_image", "not JPEG or PNG magic bytes")
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and 2x; we enforce our own limit below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size  # read from the header, nothing decoded yet
            if width * height > config.max_image_pixels:
                raise VerificationError("image_too_many_pixels", f"{width}x{height}")
            long_side = max(width, height)
            if fmt == "JPEG" and long_side >= 2 * config.encode_max_side:
                # DCT-domain downscaling while decoding (1/2, 1/4, 1/8): a 12 MP selfie decodes ~3x faster,
                # and nothing downstream uses more than encode_max_side pixels.
                scale = config.encode_max_side / long_side
                image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            # face_recognition sets LOAD_TRUNCATED_IMAGES = True on import; a cut-off upload must fail.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy: the decoded image is ours alone
            rgb = image if image.mode == "RGB" else image.convert("RGB")
    except VerificationError:
        raise
    except Image.DecompressionBombError as exc:
        raise VerificationError("image_too_many_pixels", str(exc))
    except UnidentifiedImageError as exc:
        raise VerificationError("not_an_image", str(exc))
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports cut-off JPEG/PNG data as OSError("image file is truncated ...").
        raise VerificationError("truncated_image", str(exc))
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most max_side; returns (image, scale) with small = full * scale."""
    height, width = rgb.shape[:2]
    long_side = max(height, width)
    if long_side <= max_side:
        return rgb, 1.0
    scale = max_side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale
