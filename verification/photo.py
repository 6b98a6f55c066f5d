"""The SFace photo check without dlib: fast decode, YuNet's box and 5 landmarks, quality gates, SFace, P(real).

Used for every photo checked against a pensioner SFace decides for (docs/accuracy.md); dlib still analyses
enrolment photos and photos of pensioners without an SFace template (verification.face).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from verification.config import VerificationConfig
from verification.face import select_face
from verification.image import JPEG_END, decode_image, downscale, jpeg_header, orient, sniff_format
from verification.models import XYWH, DetectedFace, SFaceModel, sface_model
from verification.pad import PadConfig, presentation_score
from verification.quality import QualityReport, face_crop_grey, sharpness

# cv2 decodes a JPEG at 1/2, 1/4 or 1/8 in the DCT domain (as Pillow's draft does).
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))
# YuNet's eye-centre span over dlib's outer-eye-corner span (points 36, 45), median of 474 photos of
# ../shared/faces (+ east_asian) both detectors found: 0.764. pose.NOSE_DEPTH_RATIO (0.44 of the outer
# span) in units of the eye-centre span.
NOSE_DEPTH_RATIO_5 = 0.44 / 0.764
# Nose tip between the eye line (0) and the mouth line (1): median 0.575 on the same photos (level news
# photos); the generic head of pose.py puts the nose tip 130 in front of eyes and mouth, 320 apart.
NOSE_HEIGHT_FRONTAL = 0.575
NOSE_DEPTH_OVER_HEIGHT = 130.0 / 320.0


@dataclass(frozen=True, slots=True)
class DecodedPhoto:
    """An upright RGB image and the factor from its pixels to those decode_image would give."""

    rgb: np.ndarray
    reference_scale: float


@dataclass(frozen=True, slots=True)
class SFacePhoto:
    """One photo seen by YuNet + SFace: the face (in the decoded image), its vector, quality and P(real)."""

    face: DetectedFace
    vector: np.ndarray
    quality: QualityReport
    pad_real: float | None


def _draft_factor(width: int, height: int, config: VerificationConfig) -> int:
    """The DCT reduction decode_image's Pillow draft picks (1 when it decodes at full size)."""
    long_side = max(width, height)
    if long_side < 2 * config.encode_max_side:
        return 1
    scale = config.encode_max_side / long_side
    fit = min(width // math.ceil(width * scale), height // math.ceil(height * scale))
    return next((f for f, _ in _REDUCED if f <= fit), 1)


def decode_reduced(data: bytes, *, config: VerificationConfig, min_side: int) -> DecodedPhoto:
    """decode_image's checks and upright RGB, but a large JPEG decoded at the coarsest 1/2, 1/4 or 1/8 whose
    long side stays >= min_side; anything else (PNG, small, cut-off or odd JPEGs) goes through decode_image."""
    if len(data) > config.max_image_bytes or sniff_format(data) != "JPEG":
        return DecodedPhoto(decode_image(data, config=config), 1.0)
    width, height, orientation, _ = jpeg_header(data, config)
    factor, flag = next(((f, g) for f, g in _REDUCED if max(width, height) // f >= min_side), (1, None))
    if flag is None or not data.rstrip(b"\0\r\n ").endswith(JPEG_END):
        return DecodedPhoto(decode_image(data, config=config), 1.0)  # decode_image refuses a cut-off JPEG
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        return DecodedPhoto(decode_image(data, config=config), 1.0)
    rgb = cv2.cvtColor(np.ascontiguousarray(orient(bgr, orientation)), cv2.COLOR_BGR2RGB)
    return DecodedPhoto(rgb, factor / _draft_factor(width, height, config))


def five_point_pose(points5: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from YuNet's 5 points, in the units of pose.head_pose's yaw (the visual angle)."""
    right_eye, left_eye, nose, right_mouth, left_mouth = np.asarray(points5, dtype=np.float64)
    axis = left_eye - right_eye
    span = max(float(np.hypot(*axis)), 1e-6)
    along = axis / span
    across = np.array([-along[1], along[0]])
    eyes = (right_eye + left_eye) / 2.0
    mouth_depth = float(np.dot((right_mouth + left_mouth) / 2.0 - eyes, across))
    shift = float(np.dot(nose - eyes, along)) / span
    height = float(np.dot(nose - eyes, across)) / (mouth_depth if abs(mouth_depth) > 1e-6 else 1e-6)
    yaw = math.degrees(math.atan2(shift, NOSE_DEPTH_RATIO_5))
    pitch = math.degrees(math.atan2(NOSE_HEIGHT_FRONTAL - height, NOSE_DEPTH_OVER_HEIGHT))
    return yaw, pitch


def assess_quality5(
    rgb: np.ndarray, face: DetectedFace, *, config: VerificationConfig, reference_scale: float = 1.0
) -> QualityReport:
    """quality.assess_quality's gates and codes on YuNet's box and 5 points (eye distance in decode_image's pixels)."""
    box = face.to_trbl()
    grey = face_crop_grey(rgb, box)
    eye_px = float(np.hypot(*(face.landmarks5[1] - face.landmarks5[0]))) * reference_scale
    lap = sharpness(grey, config.blur_crop_side)
    lum = float(grey.mean())
    clipped = float(np.mean((grey <= 5) | (grey >= 250)))
    yaw, pitch = five_point_pose(face.landmarks5)
    reasons: list[str] = []
    if eye_px < config.min_inter_eye_px:
        reasons.append("face_too_small")
    if lap < config.min_laplacian_var:
        reasons.append("too_blurred")
    if lum < config.min_face_luminance:
        reasons.append("too_dark")
    elif lum > config.max_face_luminance:
        reasons.append("too_bright")
    elif clipped > config.max_clipped_fraction:
        bright = float(np.mean(grey >= 250)) >= float(np.mean(grey <= 5))
        reasons.append("too_bright" if bright else "too_dark")
    if abs(yaw) > config.max_yaw_deg or abs(pitch) > config.max_pitch_deg:
        reasons.append("head_turned")
    return QualityReport(reasons, eye_px, lap, lum, clipped, yaw, pitch)


def _scaled(face: DetectedFace, factor: float) -> DetectedFace:
    x, y, w, h = face.box
    box: XYWH = (x * factor, y * factor, w * factor, h * factor)
    return DetectedFace(box, face.landmarks5 * factor, face.score, face.points * factor)


def detect_one(
    model: SFaceModel, rgb: np.ndarray, *, config: VerificationConfig
) -> tuple[DetectedFace, np.ndarray, float]:
    """Exactly one face (or the dominant one, as verification.face.select_face) in ``rgb``'s pixels, the
    detect_max_side copy YuNet saw and its scale; no_face / multiple_faces otherwise."""
    small, scale = downscale(rgb, model.detect_max_side)
    found = model.detect(small)
    # A face the frame cuts through is a bystander at the edge, not a second person in the photo; dlib's HOG
    # does not see those. eval-faces multiple_faces without / with this rule: mixed 12 / 5, East-Asian 14 / 4
    # (dlib: 4 and 1).
    height, width = small.shape[:2]
    inside = [
        f
        for f in found[1:]
        if f.box[0] >= 0 and f.box[1] >= 0 and f.box[0] + f.box[2] <= width and f.box[1] + f.box[3] <= height
    ]
    faces = [_scaled(f, 1.0 / scale) for f in found[:1] + inside]
    chosen = select_face([f.to_trbl() for f in faces], config=config)
    return faces[[f.to_trbl() for f in faces].index(chosen)], small, scale


def check_photo(data: bytes, *, config: VerificationConfig, pad: bool, model: SFaceModel | None = None) -> SFacePhoto:
    """Decode, YuNet, quality gates, SFace vector and P(real) of one photo; VerificationError when unusable."""
    model = model or sface_model()
    decoded = decode_reduced(data, config=config, min_side=max(model.detect_max_side, PadConfig().normalise_side))
    rgb = decoded.rgb
    face, small, scale = detect_one(model, rgb, config=config)
    quality = assess_quality5(rgb, face, config=config, reference_scale=decoded.reference_scale)
    vector = model.embed(model.align(rgb, face))
    pad_real = None
    if pad:
        pad_real = presentation_score(small, _scaled(face, scale).box)  # PAD's own 640 px copy: the same
    return SFacePhoto(face=face, vector=vector, quality=quality, pad_real=pad_real)
