"""Eye and mouth aspect ratios from the 68-point (iBUG 300-W / dlib) landmark layout."""

from __future__ import annotations

import numpy as np

RIGHT_EYE = slice(36, 42)  # the subject's right eye, on the left of a non-mirrored image
LEFT_EYE = slice(42, 48)
INNER_LIPS = slice(60, 68)


def _as_points(landmarks68: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks68, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68x2 landmarks, got shape {points.shape}")
    return points


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(a - b)))


def _eye_ratio(eye: np.ndarray) -> float:
    """Soukupová & Čech EAR: (|p2-p6| + |p3-p5|) / (2 |p1-p4|)."""
    width = _dist(eye[0], eye[3])
    if width <= 0:
        return 0.0
    return (_dist(eye[1], eye[5]) + _dist(eye[2], eye[4])) / (2.0 * width)


def eye_aspect_ratio(landmarks68: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes (about 0.25-0.35 open, below 0.15 closed)."""
    points = _as_points(landmarks68)
    return (_eye_ratio(points[RIGHT_EYE]) + _eye_ratio(points[LEFT_EYE])) / 2.0


def mouth_aspect_ratio(landmarks68: np.ndarray) -> float:
    """Inner-lip opening: mean of the three vertical gaps (61-67, 62-66, 63-65) over the width 60-64.

    About 0 with closed lips, 0.1-0.2 while speaking, above 0.35 with the mouth clearly open.
    """
    lips = _as_points(landmarks68)[INNER_LIPS]
    width = _dist(lips[0], lips[4])
    if width <= 0:
        return 0.0
    gaps = _dist(lips[1], lips[7]) + _dist(lips[2], lips[6]) + _dist(lips[3], lips[5])
    return gaps / (3.0 * width)


def eye_aspect_ratios(landmarks68: np.ndarray) -> tuple[float, float]:
    """EAR of the subject's right and left eye separately (a wink closes only one)."""
    points = _as_points(landmarks68)
    return _eye_ratio(points[RIGHT_EYE]), _eye_ratio(points[LEFT_EYE])
