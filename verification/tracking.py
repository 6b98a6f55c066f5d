"""Face boxes for the liveness track: YuNet on a small copy of each frame, boxes in dlib's HOG convention.

dlib's 68-point shape predictor was trained on HOG boxes (square, brows to chin); YuNet's box is taller
(forehead included) and placed otherwise, so its box is mapped onto the HOG box it stands for by constants
fitted on the real recordings (docs/liveness.md "Speed"). YuNet on a 160 px copy costs about a fifth of HOG on
the 320 px copy, finds every face HOG finds there, and turned or tilted ones HOG misses.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from verification import model_files
from verification.config import VerificationConfig
from verification.face import Box

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
# HOG on the 320 px copy finds no face whose box is smaller than 72 px there (its 80 px window; 192 px boxes on
# 854 px frames): smaller faces (a bystander behind the pensioner) are not counted, with 20 % to spare for the
# mapping's spread, so no answer is refused for a face far smaller than any HOG could see.
HOG_SMALLEST_BOX = 72
HOG_COPY_SIDE = 320


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

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """All face boxes in full-resolution HOG-convention coordinates, clipped to the frame, largest first."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.side / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Nearest-pixel-pair sampling, not area averaging: 0.1 ms against 2 ms a frame, and YuNet finds the same
        # faces with the same boxes on the recordings (docs/liveness.md "Speed").
        small = rgb if scale == 1.0 else cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        rows, pad = self._rows(bgr), 0
        if len(rows) == 0 and max(height, width) <= self.config.small_image_side:
            pad = round(max(size) * self.config.small_image_pad)  # tight crops, as verification.face does
            rows = self._rows(cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT))
            self._input = None
        boxes = [hog_box(*((row[:4].astype(np.float64) - (pad, pad, 0, 0)) / scale)) for row in rows]
        if not pad:
            smallest = 0.8 * HOG_SMALLEST_BOX * max(1.0, max(height, width) / HOG_COPY_SIDE)
            boxes = [b for b in boxes if b[1] - b[3] >= smallest]
        clipped = [(max(0, t), min(width, r), min(height, b), max(0, left)) for t, r, b, left in boxes]
        area = lambda b: max(0, b[2] - b[0]) * max(0, b[1] - b[3])  # noqa: E731
        return sorted((b for b in clipped if area(b) > 0), key=area, reverse=True)


@cache
def track_detector(side: int) -> TrackDetector:
    """One detector per process and size (cv2.dnn nets are not shared between threads; the API uses processes)."""
    return TrackDetector(side=side)
