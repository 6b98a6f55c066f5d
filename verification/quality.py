"""Quality gates on one detected face, with stable reason codes and bilingual advice."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from verification.config import VerificationConfig
from verification.pose import head_pose

Box = tuple[int, int, int, int]

ADVICE: dict[str, tuple[str, str]] = {
    "no_face": (
        "没有找到人脸：请正对镜头，露出整张脸。",
        "No face found: face the camera with your whole face visible.",
    ),
    "multiple_faces": (
        "画面中有多张人脸：请只让本人出现在画面中。",
        "Several faces in the picture: only the pensioner should be visible.",
    ),
    "face_too_small": ("脸太小：请把手机拿近一些。", "Face too small: hold the phone closer."),
    "too_blurred": (
        "照片模糊：请拿稳手机，擦干净镜头后重拍。",
        "Photo blurred: hold the phone still and clean the lens.",
    ),
    "too_dark": ("光线太暗：请到明亮处，面向光源。", "Too dark: move to a bright place and face the light."),
    "too_bright": (
        "光线太强：请避开阳光直射或强光。",
        "Too bright: avoid direct sunlight or strong light on the face.",
    ),
    "head_turned": (
        "头部偏转：请正视镜头，不要侧脸、抬头或低头。",
        "Head turned: look straight into the camera.",
    ),
}


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Reasons (empty = passes) and the measured values behind them."""

    reasons: list[str] = field(default_factory=list)
    inter_eye_px: float = 0.0
    laplacian_var: float = 0.0
    luminance: float = 0.0
    clipped_fraction: float = 0.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no gate failed."""
        return not self.reasons


def inter_eye_distance(landmarks68: np.ndarray) -> float:
    """Distance in pixels between the two eye centres."""
    right_eye = landmarks68[36:42].mean(axis=0)
    left_eye = landmarks68[42:48].mean(axis=0)
    return float(np.hypot(*(left_eye - right_eye)))


def face_crop_grey(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The face box as a grey image (empty boxes give a 1x1 black crop)."""
    top, right, bottom, left = box
    crop = rgb[max(0, top) : max(top + 1, bottom), max(0, left) : max(left + 1, right)]
    if crop.size == 0:
        return np.zeros((1, 1), dtype=np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)


def sharpness(grey_face: np.ndarray, side: int) -> float:
    """Variance of the Laplacian of the face resized to side x side (independent of resolution)."""
    norm = cv2.resize(grey_face, (side, side), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(norm, cv2.CV_64F).var())


def assess_quality(rgb: np.ndarray, box: Box, landmarks68: np.ndarray, *, config: VerificationConfig) -> QualityReport:
    """Measure size, sharpness, exposure and head pose of one face and list the failed gates."""
    grey = face_crop_grey(rgb, box)
    eye_px = inter_eye_distance(landmarks68)
    lap = sharpness(grey, config.blur_crop_side)
    lum = float(grey.mean())
    clipped = float(np.mean((grey <= 5) | (grey >= 250)))
    pose = head_pose(landmarks68, rgb.shape[:2])
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
    if abs(pose.yaw) > config.max_yaw_deg or abs(pose.pitch) > config.max_pitch_deg:
        reasons.append("head_turned")
    return QualityReport(
        reasons=reasons,
        inter_eye_px=eye_px,
        laplacian_var=lap,
        luminance=lum,
        clipped_fraction=clipped,
        yaw_deg=pose.yaw,
        pitch_deg=pose.pitch,
    )
