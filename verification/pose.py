"""Head pose from 68 landmarks: yaw from the nose tip between the eye corners, pitch and roll by cv2.solvePnP.

Sign convention, for the image as given (not mirrored):
- yaw > 0: the person turns their head to THEIR left (the nose moves towards the image's right);
- pitch > 0: the person looks up (chin raised);
- roll > 0: the head is tilted clockwise as seen in the image.
Front cameras often show a mirrored preview; the stored frames are what count here. Callers that
receive mirrored frames must negate yaw (and roll), see ``LivenessConfig.mirrored``.

Yaw is measured against the line of sight (a face looking at the camera reads 0 wherever it is in the
frame), from rigid points only: the six-point solvePnP yaw moved with the jaw (an open mouth on a
frontal face read up to 31 deg) and needs a focal length nobody knows; calibration in
docs/liveness_actions_measured.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Landmark indices of the six model points: nose tip, chin, outer eye corners, mouth corners.
POSE_LANDMARKS = (30, 8, 36, 45, 48, 54)

# A generic head in millimetre-like units, in camera-aligned axes (x right, y down, z away from the
# camera) so that a frontal face has the identity rotation.
MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip (30)
        (0.0, 330.0, 65.0),  # chin (8)
        (-225.0, -170.0, 135.0),  # outer corner of the eye on the image's left (36)
        (225.0, -170.0, 135.0),  # outer corner of the eye on the image's right (45)
        (-150.0, 150.0, 125.0),  # mouth corner on the image's left (48)
        (150.0, 150.0, 125.0),  # mouth corner on the image's right (54)
    ],
    dtype=np.float64,
)
_MODEL_EYE_SPAN = 450.0

# Nose tip (30) depth in front of the outer eye corners (36, 45) over their span. Turned by yaw t, the
# nose tip appears shifted from the corners' midpoint by D sin t while the corners span W cos t, so
# shift / span = (D / W) tan t for a distant camera. Measured on the real turn clip against the eye-span
# foreshortening (cos t = span ratio against frontal, no free parameter): 0.444 on the left turn (52
# frames beyond 20 deg), 0.441 on the right turn (22 frames). That clip is a close selfie (outer eye span
# 41 % of the frame width), so the ratio includes its perspective: the same head 2x further away reads
# ~10 % smaller angles (projection of a model head: 30 deg reads 38.8 at 30 cm, 34.6 at 60 cm).
NOSE_DEPTH_RATIO = 0.44


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Head rotation in degrees; see the module docstring for the signs."""

    yaw: float
    pitch: float
    roll: float


def camera_matrix(image_shape: tuple[int, ...]) -> np.ndarray:
    """Pinhole camera with focal length = image width and the principal point at the centre."""
    height, width = int(image_shape[0]), int(image_shape[1])
    focal = float(width)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def _points(landmarks68: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks68, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68x2 landmarks, got shape {points.shape}")
    return points


def yaw_degrees(landmarks68: np.ndarray) -> float:
    """Yaw from the nose tip's shift along the outer-eye-corner line (roll-free, no camera model)."""
    points = _points(landmarks68)
    axis = points[45] - points[36]
    span = max(float(np.hypot(*axis)), 1e-6)
    shift = float(np.dot(points[30] - (points[36] + points[45]) / 2.0, axis / span)) / span
    return math.degrees(math.atan2(shift, NOSE_DEPTH_RATIO))


def head_pose(landmarks68: np.ndarray, image_shape: tuple[int, ...]) -> HeadPose:
    """Estimate yaw, pitch and roll of a face from its 68 landmarks (x, y in pixels)."""
    points = _points(landmarks68)
    image_points = points[list(POSE_LANDMARKS)].reshape(-1, 1, 2)
    camera = camera_matrix(image_shape)
    # Start from a frontal head at the distance implied by the eye span: the iterative solver then
    # stays on the physical solution instead of the mirrored one behind the camera.
    eye_span = max(float(np.hypot(*(points[45] - points[36]))), 1.0)
    distance = camera[0, 0] * _MODEL_EYE_SPAN / eye_span
    nose = points[30]
    tvec = np.array(
        [
            [(nose[0] - camera[0, 2]) * distance / camera[0, 0]],
            [(nose[1] - camera[1, 2]) * distance / camera[1, 1]],
            [distance],
        ]
    )
    ok, rvec, _ = cv2.solvePnP(
        MODEL_POINTS,
        image_points,
        camera,
        np.zeros((4, 1)),
        np.zeros((3, 1)),
        tvec,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        raise ValueError("head pose could not be estimated from these landmarks")
    rotation, _ = cv2.Rodrigues(rvec)
    solved = _euler(rotation)
    return HeadPose(yaw=yaw_degrees(points), pitch=solved.pitch, roll=solved.roll)


def _euler(rotation: np.ndarray) -> HeadPose:
    """Decompose R = Rz(roll) Ry(b) Rx(a) and map to the documented signs."""
    beta = math.asin(max(-1.0, min(1.0, -float(rotation[2, 0]))))
    alpha = math.atan2(float(rotation[2, 1]), float(rotation[2, 2]))
    gamma = math.atan2(float(rotation[1, 0]), float(rotation[0, 0]))
    # A rotation of -b about the downward y axis points the face normal (-z) towards +x (image
    # right), i.e. the person turns to their left; likewise -a points it up.
    return HeadPose(yaw=-math.degrees(beta), pitch=-math.degrees(alpha), roll=math.degrees(gamma))
