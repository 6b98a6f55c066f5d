"""Face boxes for the liveness track: YuNet on a small copy of each frame, boxes in dlib's HOG convention.

dlib's 68-point shape predictor was trained on HOG boxes (square, brows to chin); YuNet's box is taller
(forehead included) and placed otherwise, so its box is mapped onto the HOG box it stands for by constants
fitted on the real recordings (docs/liveness.md "Speed"). YuNet on a 160 px copy costs about a quarter of HOG on
the 320 px copy and finds every face HOG finds there; the mapping holds for frontal faces only, so a frame where
YuNet sees no face or a turned one is left to HOG, as before.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from verification import model_files
from verification.config import VerificationConfig
from verification.face import Box
from verification.photo import five_point_pose

TRACK_SIDE = 160  # default long side of the copy YuNet runs on (LivenessConfig.track_side)
TRACK_SCORE = 0.6  # YuNet's score threshold, as for SFace (verification.models.SFaceModel)
# YuNet box (x, y, w, h) -> HOG box: centre shifted by these fractions of w and h, side from w and h. Fitted
# (least squares, medians) on the 1,266 frames of the seven real recordings where HOG on the 320 px copy and
# YuNet on the 160 px copy each found one face: HOG side / mapped side p5-p95 0.90-1.14 (HOG's sizes step by
# 6/5), centre within 3.6 % of the side (median).
CENTRE_X_PER_WIDTH = -0.0023
CENTRE_Y_PER_HEIGHT = 0.0587
SIDE_PER_WIDTH = 0.6601
SIDE_PER_HEIGHT = 0.2903
# HOG on the 320 px copy gives no box smaller than 72 px there (193 px on 854 px frames), and snaps faces down to
# ~0.75 of that up to it (photos held up: mapped YuNet sides 142-164 px where HOG gave 193): faces below 0.6 of
# it (a bystander far behind the pensioner) are not counted, so no answer is refused for a face far smaller than
# any HOG could find.
HOG_SMALLEST_BOX = 72
HOG_COPY_SIDE = 320
# The mapping holds for faces YuNet's 5 points call frontal: 68-point error on the mapped box against HOG's box
# (in eye spans) p95 0.013-0.015 below 12 deg, against 0.022 for the mean of two HOG boxes (what every other frame
# gets); 0.05-0.10 at 12-20 deg and 0.09-0.45 (median) beyond. Frames with a face turned further are HOG's.
FRONTAL_YAW_DEG = 12.0


def hog_box(x: float, y: float, w: float, h: float) -> Box:
    """The HOG-convention box (top, right, bottom, left) that stands for YuNet's box."""
    cx = x + w * (0.5 + CENTRE_X_PER_WIDTH)
    cy = y + h * (0.5 + CENTRE_Y_PER_HEIGHT)
    half = (SIDE_PER_WIDTH * w + SIDE_PER_HEIGHT * h) / 2.0
    return (round(cy - half), round(cx + half), round(cy + half), round(cx - half))


class TrackDetector:
    """YuNet (the SFace model's detector file) on a TRACK_SIDE copy; one instance per process."""

    def __init__(self, *, side: int = TRACK_SIDE, score_threshold: float = TRACK_SCORE) -> None:
        self.side = side
        self.config = VerificationConfig()
        data = np.frombuffer(model_files.load(model_files.YUNET), dtype=np.uint8)
        empty = np.empty(0, dtype=np.uint8)
        self._detector = cv2.FaceDetectorYN.create("onnx", data, empty, (side, side), score_threshold, 0.3, 5000)
        self._input: tuple[int, int] | None = None

    def _rows(self, bgr: np.ndarray) -> np.ndarray:
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._input:  # every frame of an answer has one size: the network is resized once
            self._detector.setInputSize(size)
            self._input = size
        _, rows = self._detector.detect(bgr)
        return np.zeros((0, 15), dtype=np.float32) if rows is None else rows

    def detect(self, rgb: np.ndarray, max_yaw_deg: float = FRONTAL_YAW_DEG) -> list[Box] | None:
        """All face boxes in full-resolution HOG-convention coordinates, clipped to the frame, largest first; None
        when YuNet finds no face or a face turned more than max_yaw_deg (its 5 points): HOG must decide there."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.side / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Bilinear sampling, not area averaging: 0.1 ms against 2-2.5 ms a frame; on the recordings YuNet finds the
        # same faces on both copies, and the mapping fitted on each has the same spread.
        small = rgb if scale == 1.0 else cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        rows, pad = self._rows(bgr), 0
        if len(rows) == 0 and max(height, width) <= self.config.small_image_side:
            pad = round(max(size) * self.config.small_image_pad)  # tight crops, as verification.face does
            rows = self._rows(cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT))
            self._input = None
        if len(rows) == 0 or any(abs(five_point_pose(row[4:14].reshape(5, 2))[0]) > max_yaw_deg for row in rows):
            return None
        boxes = [hog_box(*((row[:4].astype(np.float64) - (pad, pad, 0, 0)) / scale)) for row in rows]
        if not pad:
            smallest = 0.6 * HOG_SMALLEST_BOX * max(1.0, max(height, width) / HOG_COPY_SIDE)
            boxes = [b for b in boxes if b[1] - b[3] >= smallest]
        clipped = [(max(0, t), min(width, r), min(height, b), max(0, left)) for t, r, b, left in boxes]
        area = lambda b: max(0, b[2] - b[0]) * max(0, b[1] - b[3])  # noqa: E731
        return sorted((b for b in clipped if area(b) > 0), key=area, reverse=True)


@cache
def track_detector(side: int) -> TrackDetector:
    """One detector per process and size (cv2.dnn nets are not shared between threads; the API uses processes)."""
    return TrackDetector(side=side)
