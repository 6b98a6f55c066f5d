"""Face detection, 68 landmarks and the 128-d dlib encoding of exactly one face."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np
from face_recognition import api as fr

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.image import downscale
from verification.quality import QualityReport, assess_quality

Box = tuple[int, int, int, int]  # (top, right, bottom, left) in full-resolution pixels, as face_recognition


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """One face: its box, 68 landmarks (x, y), 128-d encoding and quality report."""

    box: Box
    landmarks68: np.ndarray
    encoding: np.ndarray
    quality: QualityReport


def _detect(rgb: np.ndarray, upsample: int) -> list[dlib.rectangle]:
    return list(fr.face_detector(rgb, upsample))


def _area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, bottom - top) * max(0, right - left)


def detect_faces(rgb: np.ndarray, *, config: VerificationConfig) -> list[Box]:
    """All face boxes in full-resolution coordinates, largest first."""
    height, width = rgb.shape[:2]
    small, scale = downscale(rgb, config.detect_max_side)
    boxes = [
        (
            round(r.top() / scale),
            round(r.right() / scale),
            round(r.bottom() / scale),
            round(r.left() / scale),
        )
        for r in _detect(small, config.upsample)
    ]
    if not boxes and max(height, width) <= config.small_image_side:
        # Tight face crops fill the frame; HOG needs context around the face and a bigger face.
        pad = round(max(height, width) * config.small_image_pad)
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        boxes = [
            (r.top() - pad, r.right() - pad, r.bottom() - pad, r.left() - pad)
            for r in _detect(padded, config.small_image_upsample)
        ]
    clipped = [(max(0, t), min(width, r), min(height, b), max(0, left)) for t, r, b, left in boxes]
    return sorted((b for b in clipped if _area(b) > 0), key=_area, reverse=True)


def select_face(boxes: list[Box], *, config: VerificationConfig) -> Box:
    """Exactly one face, or the clearly dominant one when allowed; else no_face / multiple_faces."""
    if not boxes:
        raise VerificationError("no_face")
    if len(boxes) == 1:
        return boxes[0]
    if config.choose_dominant_face and _area(boxes[0]) >= config.dominant_face_area_ratio * _area(boxes[1]):
        return boxes[0]
    raise VerificationError("multiple_faces", f"{len(boxes)} comparable faces")


def _rect(box: Box) -> dlib.rectangle:
    top, right, bottom, left = box
    return dlib.rectangle(left, top, right, bottom)


def xywh(box: Box) -> tuple[float, float, float, float]:
    """A (top, right, bottom, left) box as (x, y, width, height), the face models' convention."""
    top, right, bottom, left = box
    return (float(left), float(top), float(right - left), float(bottom - top))


def landmarks(rgb: np.ndarray, box: Box) -> np.ndarray:
    """68 landmark points (x, y) as a float (68, 2) array."""
    shape = fr.pose_predictor_68_point(rgb, _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def encode(rgb: np.ndarray, box: Box, *, num_jitters: int = 1, max_side: int | None = None) -> np.ndarray:
    """128-d encoding (dlib ResNet, face_recognition model="large" = 68-point alignment)."""
    if max_side is not None:
        small, scale = downscale(rgb, max_side)
        if scale != 1.0:
            rgb = np.ascontiguousarray(small)
            box = (round(box[0] * scale), round(box[1] * scale), round(box[2] * scale), round(box[3] * scale))
    shape = fr.pose_predictor_68_point(rgb, _rect(box))
    return np.asarray(fr.face_encoder.compute_face_descriptor(rgb, shape, num_jitters), dtype=np.float64)


def analyse_face(rgb: np.ndarray, *, config: VerificationConfig, num_jitters: int | None = None) -> FaceAnalysis:
    """Detect exactly one face; return its landmarks, encoding and quality (API, liveness, eval)."""
    box = select_face(detect_faces(rgb, config=config), config=config)
    points = landmarks(rgb, box)
    jitters = config.probe_num_jitters if num_jitters is None else num_jitters
    encoding = encode(rgb, box, num_jitters=jitters, max_side=config.encode_max_side)
    quality = assess_quality(rgb, box, points, config=config)
    return FaceAnalysis(box=box, landmarks68=points, encoding=encoding, quality=quality)
