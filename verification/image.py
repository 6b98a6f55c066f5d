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
JPEG_END = b"\xff\xd9"
_EXIF_ORIENTATION = 0x0112


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


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation as PIL.ImageOps.exif_transpose does (a view, not a copy)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    op = ops.get(orientation)
    return pixels if op is None else op(pixels)


def jpeg_header(data: bytes, config: VerificationConfig) -> tuple[int, int, int, str]:
    """(width, height, EXIF orientation, Pillow mode) of a JPEG from its header, with decode_image's limits."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG"])
            width, height = image.size
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Image.DecompressionBombError as exc:
        raise VerificationError("image_too_many_pixels", str(exc))
    except UnidentifiedImageError as exc:
        raise VerificationError("not_an_image", str(exc))
    except (OSError, SyntaxError, ValueError) as exc:
        raise VerificationError("truncated_image", str(exc))
    if width * height > config.max_image_pixels:
        raise VerificationError("image_too_many_pixels", f"{width}x{height}")
    return width, height, orientation, image.mode


def decode_frame(data: bytes, *, config: VerificationConfig) -> np.ndarray:
    """decode_image's checks and pixels for a liveness frame: an RGB JPEG at full size is decoded by OpenCV
    straight into RGB (Pillow decodes into its own 4-byte layout that must then be copied out); anything else
    (PNG, grey or CMYK, large, cut-off or odd JPEGs) goes through decode_image."""
    if len(data) > config.max_image_bytes or sniff_format(data) != "JPEG":
        return decode_image(data, config=config)
    width, height, orientation, mode = jpeg_header(data, config)
    whole = data.rstrip(b"\0\r\n ").endswith(JPEG_END)
    if mode != "RGB" or max(width, height) >= 2 * config.encode_max_side or not whole:
        return decode_image(data, config=config)  # decode_image refuses a cut-off JPEG and drafts large ones
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    if rgb is None or rgb.shape != (height, width, 3):
        return decode_image(data, config=config)
    return np.ascontiguousarray(orient(rgb, orientation))


def downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most max_side; returns (image, scale) with small = full * scale."""
    height, width = rgb.shape[:2]
    long_side = max(height, width)
    if long_side <= max_side:
        return rgb, 1.0
    scale = max_side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale
