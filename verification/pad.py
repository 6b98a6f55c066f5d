"""Passive presentation-attack detection: P(real) of one face from the two MiniFASNet models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from verification import model_files
from verification.errors import VerificationError
from verification.face import xywh
from verification.image import downscale
from verification.models import XYWH, DetectedFace, embed_face, sface_model

# (model file, crop scale around the face box); from the models' published inference code.
PAD_MODELS = ((model_files.MINIFASNET_V2, 2.7), (model_files.MINIFASNET_V1SE, 4.0))
INPUT_SIDE = 80
REAL_CLASS = 1
MAX_EVIDENCE_FRAMES = 5  # frames of a liveness answer embedded with SFace and judged; SFace + PAD ~27 ms a frame


@dataclass(frozen=True, slots=True)
class PadConfig:
    """Where the crop is taken and the P(real) a face needs (docs/face_models_measured.md)."""

    # Crop from a copy with this long side: real photos > 1000 px scored min 0.27 (2 of 41 below 0.5) when
    # cropped at full size, min 0.59 (none below 0.5) from the 640 px copy.
    normalise_side: int = 640
    # Highest attack score measured 0.22 (printed photo); screen replays <= 0.002; real video frames median
    # >= 0.96 per video but single frames down to 0.20, so a recording is judged on its median frame.
    real_threshold: float = 0.5


def crop_box(width: int, height: int, box: XYWH, scale: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) inclusive: the box enlarged about its centre, shifted and clamped inside the image."""
    x, y, w, h = box
    w, h = max(w, 1.0), max(h, 1.0)
    scale = min((height - 1) / h, (width - 1) / w, scale)
    new_w, new_h = w * scale, h * scale
    cx, cy = x + w / 2, y + h / 2
    x0, y0, x1, y1 = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if x0 < 0:
        x1, x0 = x1 - x0, 0.0
    if y0 < 0:
        y1, y0 = y1 - y0, 0.0
    if x1 > width - 1:
        x0, x1 = x0 - (x1 - width + 1), width - 1.0
    if y1 > height - 1:
        y0, y1 = y0 - (y1 - height + 1), height - 1.0
    return int(max(0.0, x0)), int(max(0.0, y0)), int(x1), int(y1)


def pad_input(bgr: np.ndarray, box: XYWH, scale: float) -> np.ndarray:
    """The 1×3×80×80 float32 BGR 0–255 blob of the enlarged face crop."""
    x0, y0, x1, y1 = crop_box(bgr.shape[1], bgr.shape[0], box, scale)
    crop = cv2.resize(bgr[y0 : y1 + 1, x0 : x1 + 1], (INPUT_SIDE, INPUT_SIDE))
    return np.ascontiguousarray(crop.transpose(2, 0, 1)[None].astype(np.float32))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


class PresentationDetector:
    """The two MiniFASNet nets on cv2.dnn (sha256-checked); one instance per process or thread."""

    def __init__(self, config: PadConfig | None = None, *, weights_dir: Path | None = None) -> None:
        self.config = config or PadConfig()
        self._nets = []
        for model, scale in PAD_MODELS:
            data = np.frombuffer(model_files.load(model, directory=weights_dir), dtype=np.uint8)
            self._nets.append((model.filename, scale, cv2.dnn.readNetFromONNX(data)))

    def scores(self, rgb: np.ndarray, box: XYWH) -> dict[str, float]:
        """P(real) per model for the face ``box`` (x, y, w, h in ``rgb``'s pixels)."""
        small, factor = downscale(rgb, self.config.normalise_side)
        bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)
        scaled = (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)
        out = {}
        for name, scale, net in self._nets:
            net.setInput(pad_input(bgr, scaled, scale))
            out[name] = float(_softmax(np.asarray(net.forward(), dtype=np.float64).ravel())[REAL_CLASS])
        return out

    def score(self, rgb: np.ndarray, box: XYWH) -> float:
        """P(real) averaged over the two models, as their published code does."""
        return float(np.mean(list(self.scores(rgb, box).values())))

    def is_real(self, rgb: np.ndarray, box: XYWH) -> bool:
        """Whether the fused P(real) reaches the configured threshold."""
        return self.score(rgb, box) >= self.config.real_threshold

    def recording_score(self, frames: list[np.ndarray], boxes: list[XYWH]) -> float:
        """Median fused P(real) over the frames of one recording (single frames dip, a replay never rises)."""
        if not frames or len(frames) != len(boxes):
            raise ValueError("need one face box per frame and at least one frame")
        return float(np.median([self.score(rgb, box) for rgb, box in zip(frames, boxes, strict=True)]))


@cache
def presentation_detector() -> PresentationDetector:
    """One detector per process with the shipped configuration."""
    return PresentationDetector()


def presentation_score(rgb: np.ndarray, face_box: XYWH) -> float:
    """P(real) of the face at ``face_box`` (x, y, w, h) in an RGB image, fused over both MiniFASNet models."""
    return presentation_detector().score(rgb, face_box)


def frame_evidence(
    rgb: list[np.ndarray],
    indices: list[int],
    *,
    sface: bool,
    pad: bool,
    max_frames: int = MAX_EVIDENCE_FRAMES,
    found: Mapping[int, tuple[DetectedFace | None, np.ndarray]] | None = None,
) -> tuple[list[np.ndarray], float | None]:
    """SFace vectors and the median P(real) of a recording's evidence frames (the liveness analysis's encoded
    frames, at most max_frames); a frame where YuNet finds no face is left out. The app's decision uses these.
    ``found``: YuNet's face and the SFace vector per frame index when the liveness analysis made them already."""
    if not (sface or pad):
        return [], None
    vectors: list[np.ndarray] = []
    scores: list[float] = []
    for index in indices[:max_frames]:
        if found is not None and index in found:
            detected, vector = found[index]
            if detected is None:
                continue  # YuNet found no face there: its vector was aligned on dlib's points, not evidence
        else:
            try:
                detected, vector = embed_face(sface_model(), rgb[index])
            except VerificationError:
                continue
        if sface:
            vectors.append(vector)
        if pad:
            scores.append(presentation_score(rgb[index], detected.box))
    return vectors, float(np.median(scores)) if scores else None


def photo_evidence(
    rgb: np.ndarray, dlib_box: tuple[int, int, int, int], *, sface: bool, pad: bool
) -> tuple[np.ndarray | None, float | None]:
    """SFace vector and P(real) of a photo dlib accepted (dlib_box: top, right, bottom, left); PAD judges YuNet's
    box, or dlib's when YuNet finds no face (then there is no SFace vector and dlib decides alone)."""
    box: XYWH = xywh(dlib_box)
    vector = None
    if sface or pad:
        try:
            detected, found = embed_face(sface_model(), rgb)
            box = detected.box
            vector = found if sface else None
        except VerificationError:
            pass
    return vector, presentation_score(rgb, box) if pad else None
