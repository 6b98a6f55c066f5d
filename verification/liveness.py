"""Active liveness: one person, followed through a short frame sequence, performs the challenged actions.

Pure analysis: frames (RGB uint8) and capture timestamps in, a ``LivenessResult`` with stable reason
codes out. The 1:1 match against the enrolment is the caller's job (``verification.matching``) on the
returned ``best_frame_index`` / ``track_encodings``. Thresholds and their sources: ``LivenessConfig``
and ``docs/liveness.md``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np

from verification import face as face_mod
from verification import models as face_models
from verification import tracking
from verification.config import VerificationConfig
from verification.landmarks import LEFT_EYE, RIGHT_EYE, eye_aspect_ratios, mouth_aspect_ratio
from verification.pad import MAX_EVIDENCE_FRAMES
from verification.pose import head_pose, yaw_degrees

ACTIONS = ("blink", "open_mouth", "turn_left", "turn_right")


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    """Thresholds and limits of the liveness analysis (measurements in docs/liveness.md)."""

    # Input limits.
    min_frames: int = 6  # fewer frames cannot show "open, closed, closed, open" plus a frontal frame
    max_frames: int = 300  # 20 s at 15 fps; more is a client bug or a resource attack
    min_ms_per_action: int = 700  # a blink takes 300-400 ms, a head turn there and back ~1 s; plus reaction
    max_duration_ms: int = 20_000  # the challenge expires long before; matches the video limit
    # Detection and tracking.
    # "yunet": YuNet on a track_side copy, its box mapped to dlib's HOG box (verification.tracking); "hog": dlib's
    # HOG detector on a detect_max_side copy, as before 2026-12-02 (~4x the cost, docs/liveness.md "Speed").
    detector: str = "yunet"
    track_side: int = 160  # YuNet: a selfie face is ~50 px there
    detect_max_side: int = 320  # HOG: ~4x faster than 640; a selfie face is still > 90 px there
    max_no_face_fraction: float = 0.2  # motion blur during a head turn may lose a few frames
    max_multi_face_frames: int = 0  # any second face (a helper holding a photo) fails
    max_jump_fraction: float = 0.6  # face centre may move at most this much of the face width per frame
    max_scale_change: float = 1.5  # face width may change at most by this factor between frames
    detect_every: int = 2  # HOG on every other frame; a frame between two one-face frames gets their mean box
    max_track_gap_ms: int = 250  # valid frames further apart than this break the track (15 fps: 3 lost frames)
    min_crop_correlation: float = 0.5  # consecutive face crops less alike than this are a cut (docs/liveness.md)
    encode_every_ms: int = 1500  # within an unbroken track, at most this long without an encoded frame
    same_person_distance: float = (
        0.5  # blink video: max same-person distance in a 3 s window 0.20-0.24; strangers > 0.6
    )
    # The same check on SFace vectors (cosine distance) whenever SFace is computed (docs/liveness.md): at most
    # this far, one person (real windows 0.01-0.49, East-Asian strangers match below 0.55 at FMR 0.08 %) ...
    sface_same_person_distance: float = 0.3
    # ... beyond this, a switch (switch cases 0.63-1.13); between the two dlib decides as before (a film cut
    # read 0.45 by SFace and 0.58 by dlib; a real turn 0.47 / 0.39).
    sface_switch_distance: float = 0.6
    min_track_iou: float = 0.3  # YuNet's face is the track's face when its box overlaps the dlib box this much
    # Blink: eye aspect ratio relative to the person's own open-eye EAR.
    open_eye_percentile: float = 90.0  # baseline = this percentile of EAR over the track
    eye_closed_ratio: float = 0.75  # blink video: open 0.33-0.37, closed 0.13-0.18; 2 frames at 15 fps
    eye_open_ratio: float = 0.85  # eyes count as open again above this share of the baseline
    min_closed_frames: int = 2  # a single low-EAR frame is landmark noise more often than a blink
    # Each eye's crop at the blink against the open eye: real blinks 0.63-0.86; an eye that stays open
    # (a wink pasted from real frames) 0.98-0.99, open eye 200 ms apart >= 0.95 (99 % of frames).
    eye_changed_correlation: float = 0.92
    # Mouth: inner-lip aspect ratio (absolute; closed lips are ~0 for everybody).
    mouth_open_mar: float = 0.35  # blink video (closed): 0.03-0.08; 0.35 is a clearly open mouth
    mouth_closed_mar: float = 0.2  # must come back below this
    min_open_frames: int = 2
    # Head turn: yaw in degrees (positive = the person's left, see verification.pose). Real clips
    # (docs/liveness_actions_measured.md): deliberate turns peak at 27-51 deg; head movements while
    # blinking or pulling faces reach 19 deg on one frame, 16-18 deg on two.
    turn_yaw_deg: float = 20.0
    frontal_yaw_deg: float = 12.0  # start and end of a turn; a real "back to the front" rested at 9-11 deg
    min_turn_frames: int = 2  # 133 ms at 15 fps beyond the angle
    mirrored: bool = False  # frames are a mirrored (selfie-preview) image: negate yaw
    # Static check: non-rigid landmark motion after removing translation, scale and rotation.
    min_nonrigid_motion: float = 0.01  # blink video ~0.05; a photo moved by hand ~0.003-0.008
    # Best frame for the 1:1 match.
    best_max_yaw_deg: float = 15.0
    best_max_pitch_deg: float = 20.0
    fusion_frames: int = 3  # encodings of this many good frames are returned for fusion

    def face_config(self) -> VerificationConfig:
        """The photo pipeline's config with liveness detection size and strict one-face rule."""
        return dataclasses.replace(
            VerificationConfig(), detect_max_side=self.detect_max_side, choose_dominant_face=False
        )


ADVICE: dict[str, tuple[str, str]] = {
    "no_frames": ("没有收到画面，请重新录制。", "No frames were received; record again."),
    "too_many_frames": (
        "录制时间过长，请在提示后几秒内完成动作。",
        "The recording is too long; do the actions within a few seconds.",
    ),
    "frame_size_mismatch": ("画面尺寸不一致，请重新录制。", "The frames have different sizes; record again."),
    "bad_frame": ("画面格式不正确，请重新录制。", "A frame has an unexpected format; record again."),
    "bad_timestamps": ("画面时间不正确，请重新录制。", "The frame times are not in order; record again."),
    "too_short": (
        "录制时间太短，请按提示慢慢完成每个动作。",
        "The recording is too short; do each action slowly as shown.",
    ),
    "too_long": (
        "录制时间过长，请在提示后几秒内完成动作。",
        "The recording is too long; do the actions within a few seconds.",
    ),
    "no_face": (
        "部分画面中没有人脸，请正对镜头，保持整张脸在框内。",
        "No face in some frames; keep your whole face inside the frame.",
    ),
    "multiple_faces": (
        "画面中出现了多张人脸，请只让本人出现在画面中。",
        "More than one face appeared; only the pensioner should be in the picture.",
    ),
    "person_switch": (
        "录制过程中人脸发生了变化，请本人独自完成全部动作。",
        "The face changed during recording; the pensioner must do all actions alone.",
    ),
    "static_sequence": (
        "画面没有变化，请本人面对镜头完成动作，不要使用照片。",
        "The picture does not change; do the actions yourself, not with a photo.",
    ),
    "wrong_order": (
        "动作顺序不对，请按屏幕提示的顺序完成动作。",
        "The actions were done in the wrong order; follow the order on the screen.",
    ),
    "action_missing:blink": (
        "没有检测到眨眼，请正对镜头，慢慢眨一下眼睛。",
        "No blink was seen; face the camera and blink slowly once.",
    ),
    "action_missing:open_mouth": (
        "没有检测到张嘴，请把嘴张大，然后合上。",
        "No open mouth was seen; open your mouth wide, then close it.",
    ),
    "action_missing:turn_left": (
        "没有检测到向左转头，请慢慢向左转头，再转回正面。",
        "No turn to the left was seen; turn your head to your left, then back.",
    ),
    "action_missing:turn_right": (
        "没有检测到向右转头，请慢慢向右转头，再转回正面。",
        "No turn to the right was seen; turn your head to your right, then back.",
    ),
    "no_good_frame": (
        "没有清晰的正脸画面，请在光线充足处正对镜头。",
        "No clear frontal frame; face the camera in good light.",
    ),
    "replayed_frames": (
        "这段画面与您以前已通过认证的录像相同。请本人现在面对手机摄像头重新录制，不要发送以前的录像。",
        "These frames repeat a recording you already certified with; record yourself now, facing the phone camera.",
    ),
}


@dataclass(frozen=True, slots=True)
class ActionStep:
    """One challenged action: whether it was seen, and where (frame index into the input, time in ms)."""

    action: str
    detected: bool
    start_index: int | None = None
    peak_index: int | None = None
    end_index: int | None = None
    peak_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EvidenceFace:
    """SFace on one encoded frame: YuNet's face on the track's box (None when YuNet missed it) and its vector."""

    index: int  # input frame
    detected: face_models.DetectedFace | None
    vector: np.ndarray  # L2-normalised; without YuNet's face, aligned on the 68 landmarks (identity check only)


@dataclass(slots=True)
class LivenessResult:
    """Outcome of ``analyse_sequence``; ``reasons`` are stable codes (keys of ``ADVICE``)."""

    passed: bool
    reasons: list[str]
    steps: list[ActionStep] = field(default_factory=list)
    best_frame_index: int | None = None
    track_encodings: list[np.ndarray] = field(default_factory=list)
    encoded_frame_indices: list[int] = field(default_factory=list)
    faces_per_frame: list[int] = field(default_factory=list)
    ear: list[float | None] = field(default_factory=list)
    mar: list[float | None] = field(default_factory=list)
    yaw: list[float | None] = field(default_factory=list)
    max_track_distance: float | None = None
    identity_model: str = "dlib"  # the model whose vectors decided person_switch
    sface_faces: list[EvidenceFace] = field(default_factory=list)  # SFace on the encoded frames (identity sface)
    nonrigid_motion: float | None = None
    landmarks: list[np.ndarray | None] = field(default_factory=list)  # 68 points per input frame (replay check)

    def advice(self) -> list[tuple[str, str]]:
        """Bilingual (zh, en) retry advice for each reason, in order."""
        return [ADVICE[r] for r in self.reasons if r in ADVICE]


@dataclass(slots=True)
class _Event:
    start: int  # positions in the valid-frame list
    peak: int
    end: int


def _fail(reasons: list[str], **kwargs: object) -> LivenessResult:
    return LivenessResult(passed=False, reasons=reasons, **kwargs)  # type: ignore[arg-type]


def _check_input(
    frames: Sequence[np.ndarray], timestamps_ms: Sequence[int], actions: Sequence[str], config: LivenessConfig
) -> list[str]:
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown or not actions:
        raise ValueError(f"challenge must be a non-empty list of {ACTIONS}, got {list(actions)}")
    if len(frames) == 0:
        return ["no_frames"]
    if len(frames) > config.max_frames:
        return ["too_many_frames"]
    for frame in frames:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            return ["bad_frame"]
    if len({f.shape for f in frames}) != 1:
        return ["frame_size_mismatch"]
    if len(timestamps_ms) != len(frames) or any(b <= a for a, b in itertools.pairwise(timestamps_ms)):
        return ["bad_timestamps"]
    span = int(timestamps_ms[-1]) - int(timestamps_ms[0])
    if span > config.max_duration_ms:
        return ["too_long"]
    if len(frames) < config.min_frames or span < config.min_ms_per_action * len(actions):
        return ["too_short"]
    return []


def _box_centre_width(box: face_mod.Box) -> tuple[float, float, float]:
    top, right, bottom, left = box
    return (left + right) / 2.0, (top + bottom) / 2.0, float(max(1, right - left))


def _jump(a: face_mod.Box, b: face_mod.Box, config: LivenessConfig) -> bool:
    """True when the face box moves or rescales more than a real head can between two frames."""
    ax, ay, aw = _box_centre_width(a)
    bx, by, bw = _box_centre_width(b)
    moved = float(np.hypot(bx - ax, by - ay)) / max(aw, bw)
    return moved > config.max_jump_fraction or max(aw, bw) / min(aw, bw) > config.max_scale_change


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) of each run of True."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, value in enumerate(mask):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def _excursions(
    values: np.ndarray, active: np.ndarray, resting: np.ndarray, min_len: int, *, peak_low: bool
) -> list[_Event]:
    """Runs of ``active`` frames (at least min_len) with a ``resting`` frame before and after."""
    events = []
    for start, end in _runs(active):
        if end - start + 1 < min_len:
            continue
        before = np.nonzero(resting[:start])[0]
        after = np.nonzero(resting[end + 1 :])[0]
        if before.size == 0 or after.size == 0:
            continue
        segment = values[start : end + 1]
        peak = start + int(np.argmin(segment) if peak_low else np.argmax(segment))
        events.append(_Event(start=int(before[-1]), peak=peak, end=end + 1 + int(after[0])))
    return events


def _blink_events(track: _Track, config: LivenessConfig) -> list[_Event]:
    """Blinks on the mean EAR, kept only when both eyes close: a wink lowers the mean EAR too.

    Each eye must read closed against its own open-eye EAR on the same frames, and each eye's picture
    must change: dlib's 68 points move both eyes together, so on a wink the open eye's EAR also drops
    (docs/liveness_actions_measured.md), but its crop stays as it was.
    """
    mean = track.ear
    baseline = float(np.percentile(mean, config.open_eye_percentile))
    closed = mean < config.eye_closed_ratio * baseline
    opened = mean >= config.eye_open_ratio * baseline
    events = _excursions(mean, closed, opened, config.min_closed_frames, peak_low=True)
    per_eye = np.percentile(track.ear_eyes, config.open_eye_percentile, axis=0)
    both = (track.ear_eyes < config.eye_closed_ratio * per_eye).all(axis=1)
    kept = []
    for e in events:
        if int(both[e.start : e.end + 1].sum()) < config.min_closed_frames:
            continue
        # Correlation of each eye's crop at the peak with the open eye before and after; the lower counts.
        change = np.minimum(
            np.einsum("ij,ij->i", track.eye_crops[e.peak], track.eye_crops[e.start]),
            np.einsum("ij,ij->i", track.eye_crops[e.peak], track.eye_crops[e.end]),
        )
        if (change <= config.eye_changed_correlation).all():
            kept.append(e)
    return kept


def turn_events(action: str, yaw: np.ndarray, config: LivenessConfig) -> list[_Event]:
    """Turns in one direction on a yaw trace: beyond turn_yaw_deg, from and back to frontal_yaw_deg."""
    sign = 1.0 if action == "turn_left" else -1.0
    directed = sign * yaw
    return _excursions(
        directed,
        directed >= config.turn_yaw_deg,
        np.abs(yaw) <= config.frontal_yaw_deg,
        config.min_turn_frames,
        peak_low=False,
    )


def _detect_events(action: str, track: _Track, config: LivenessConfig) -> list[_Event]:
    """Excursions of one action along the track."""
    if action == "blink":
        return _blink_events(track, config)
    if action == "open_mouth":
        return _excursions(
            track.mar,
            track.mar >= config.mouth_open_mar,
            track.mar < config.mouth_closed_mar,
            config.min_open_frames,
            peak_low=False,
        )
    return turn_events(action, track.yaw, config)


def _nonrigid_motion(points: list[np.ndarray]) -> float:
    """Largest landmark shape change from frame 0 after similarity alignment, in eye-span units."""
    if len(points) < 2:
        return 0.0
    ref = points[0]
    ref_eye = float(np.hypot(*(ref[45] - ref[36]))) or 1.0
    worst = 0.0
    for other in points[1:]:
        matrix, _ = cv2.estimateAffinePartial2D(other.astype(np.float32), ref.astype(np.float32))
        if matrix is None:
            continue
        aligned = other @ matrix[:, :2].T + matrix[:, 2]
        # Eyes, eyebrows and mouth carry the actions; the jaw line is noisy on any face.
        inner = slice(17, 68)
        residual = float(np.sqrt(np.mean(np.sum((aligned[inner] - ref[inner]) ** 2, axis=1)))) / ref_eye
        worst = max(worst, residual)
    return worst


def _grey_face(rgb: np.ndarray, box: face_mod.Box, side: int) -> np.ndarray | None:
    """The face box (clipped to the frame) as a side x side grey image; None when the box is empty."""
    top, right, bottom, left = box
    crop = rgb[max(0, top) : bottom, max(0, left) : right]
    if crop.size == 0:
        return None
    # Grey first: one channel to shrink instead of three (the same picture to ±1 grey level).
    return cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (side, side), interpolation=cv2.INTER_AREA)


def _sharpness(rgb: np.ndarray, box: face_mod.Box) -> float:
    grey = _grey_face(rgb, box, 128)
    return 0.0 if grey is None else float(cv2.Laplacian(grey, cv2.CV_64F).var())


def detect_track_faces(rgb: np.ndarray, config: LivenessConfig) -> list[face_mod.Box]:
    """Every face of one frame as the track sees it: boxes in dlib's HOG convention, largest first. YuNet's boxes
    where it sees only frontal faces, HOG's elsewhere (no face, a turned face: the box mapping does not hold)."""
    if config.detector == "yunet":
        found = tracking.track_detector(config.track_side).detect(rgb)
        if found is not None:
            return found
    return face_mod.detect_faces(rgb, config=config.face_config())


def _track_boxes(frames: list[np.ndarray], config: LivenessConfig) -> tuple[list[int], list[face_mod.Box | None]]:
    """Faces per frame and the one face's box; detection runs on every detect_every-th frame and where needed."""
    n = len(frames)
    found: list[list[face_mod.Box] | None] = [None] * n
    step = max(1, config.detect_every)
    for i in sorted({*range(0, n, step), n - 1}):
        found[i] = detect_track_faces(frames[i], config)
    for i in range(n):
        if found[i] is not None:
            continue
        before, after = found[max(0, i - step + 1) : i], found[i + 1 : i + step]
        lo = next((f for f in reversed(before) if f is not None), None) if before else None
        hi = next((f for f in after if f is not None), None) if after else None
        if lo is not None and hi is not None and len(lo) == 1 and len(hi) == 1 and not _jump(lo[0], hi[0], config):
            found[i] = [tuple(round((a + b) / 2) for a, b in zip(lo[0], hi[0], strict=True))]  # type: ignore[list-item]
        else:
            found[i] = detect_track_faces(frames[i], config)
    counts = [len(f or []) for f in found]
    return counts, [f[0] if f is not None and len(f) == 1 else None for f in found]


def _crop_signature(rgb: np.ndarray, box: face_mod.Box) -> np.ndarray:
    """The face crop as a 24x24 grey vector of zero mean and unit norm (dot product = correlation)."""
    grey = _grey_face(rgb, box, 24)
    if grey is None:
        return np.zeros(24 * 24, dtype=np.float32)
    vec = grey.astype(np.float32).ravel()
    vec -= vec.mean()
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def _eye_crops(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Both eyes (right, left) as 32x20 grey crops of zero mean and unit norm, 1.6 x 1.0 eye widths each."""
    out = np.zeros((2, 640), dtype=np.float32)
    for n, eye in enumerate((RIGHT_EYE, LEFT_EYE)):
        pts = points[eye]
        cx, cy = pts.mean(axis=0)
        width = max(float(np.hypot(*(pts[3] - pts[0]))), 2.0)
        top, left = max(0, int(cy - 0.5 * width)), max(0, int(cx - 0.8 * width))
        crop = rgb[top : int(cy + 0.5 * width) + 1, left : int(cx + 0.8 * width) + 1]
        if crop.size == 0:
            continue
        grey = cv2.cvtColor(cv2.resize(crop, (32, 20), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        vec = grey.astype(np.float32).ravel()
        vec -= vec.mean()
        norm = float(np.linalg.norm(vec))
        out[n] = vec / norm if norm > 0 else vec
    return out


def _spread_best(
    candidates: list[tuple[int, float]], times: list[int], count: int, accept: Callable[[int], bool] | None = None
) -> list[int]:
    """Up to count candidate positions, sharpest first, one per equal slice of the recording where possible;
    ``accept`` (asked sharpest first, only as far as needed) can still refuse a candidate."""
    if not candidates or count <= 0:
        return []
    ok = accept or (lambda _k: True)
    ranked = sorted(candidates, key=lambda c: c[1], reverse=True)  # stable: ties keep the order max() would pick
    start, span = times[0], max(1, times[-1] - times[0] + 1)
    chosen: list[int] = []
    for part in range(count):
        lo, hi = start + span * part // count, start + span * (part + 1) // count
        best = next((k for k, _ in ranked if lo <= times[k] < hi and ok(k)), None)
        if best is not None:
            chosen.append(best)
    for k, _ in ranked:
        if len(chosen) >= count:
            break
        if k not in chosen and ok(k):
            chosen.append(k)
    # Sharpest first: the first is the best frame (kept as a rolling template).
    sharp = dict(candidates)
    return sorted(chosen, key=lambda k: sharp[k], reverse=True)


def _fill(chosen: set[int], times: list[int], every_ms: int) -> set[int]:
    """Add positions so that no stretch of the track (ends included) goes longer than every_ms unencoded."""
    out = set(chosen) or {0}
    anchors = sorted(out)
    if times[anchors[0]] - times[0] > every_ms:
        out.add(0)
    if times[-1] - times[anchors[-1]] > every_ms:
        out.add(len(times) - 1)
    for a, b in itertools.pairwise(sorted(out)):
        gap = times[b] - times[a]
        if gap <= every_ms or b - a < 2:
            continue
        parts = math.ceil(gap / every_ms)
        for i in range(1, parts):
            target = times[a] + gap * i / parts
            out.add(min(range(a + 1, b), key=lambda k: abs(times[k] - target)))
    return out


@dataclass(frozen=True, slots=True)
class _Track:
    """Measurements of the frames with a face; position k is input frame ``valid[k]``."""

    valid: list[int]
    points: list[np.ndarray]
    boxes: list[face_mod.Box]
    times: list[int]
    ear: np.ndarray
    ear_eyes: np.ndarray  # (frames, 2): right eye, left eye
    eye_crops: np.ndarray  # (frames, 2, 640): each eye's grey crop, zero mean and unit norm
    mar: np.ndarray
    yaw: np.ndarray
    frame_shape: tuple[int, ...]
    pitches: dict[int, float] = field(default_factory=dict)

    def pitch(self, k: int) -> float:
        """Head pitch at position k (solvePnP), computed when first asked: only best-frame candidates need it."""
        if k not in self.pitches:
            self.pitches[k] = head_pose(self.points[k], self.frame_shape).pitch
        return self.pitches[k]

    def per_frame(self, values: np.ndarray, n: int) -> list[float | None]:
        """Values by input frame index, None for frames without a face."""
        out: list[float | None] = [None] * n
        for k, i in enumerate(self.valid):
            out[i] = float(values[k])
        return out


def _face_count_reasons(faces_per_frame: list[int], valid_count: int, config: LivenessConfig) -> list[str]:
    reasons: list[str] = []
    if sum(1 for c in faces_per_frame if c > 1) > config.max_multi_face_frames:
        reasons.append("multiple_faces")
    if faces_per_frame.count(0) > config.max_no_face_fraction * len(faces_per_frame) or valid_count < config.min_frames:
        reasons.append("no_face")
    return reasons


def _measure(
    frames: list[np.ndarray],
    timestamps_ms: list[int],
    boxes: list[face_mod.Box | None],
    points: list[np.ndarray | None],
    config: LivenessConfig,
) -> _Track:
    """EAR, MAR and yaw of every frame with a face (pitch when asked: _Track.pitch)."""
    valid = [i for i, p in enumerate(points) if p is not None]
    track_points = cast(list[np.ndarray], [points[i] for i in valid])
    yaw_sign = -1.0 if config.mirrored else 1.0
    ear_eyes = np.array([eye_aspect_ratios(p) for p in track_points]).reshape(-1, 2)
    return _Track(
        valid=valid,
        points=track_points,
        boxes=cast(list[face_mod.Box], [boxes[i] for i in valid]),
        times=[int(timestamps_ms[i]) for i in valid],
        ear=ear_eyes.mean(axis=1),
        ear_eyes=ear_eyes,
        eye_crops=np.array([_eye_crops(frames[i], track_points[k]) for k, i in enumerate(valid)]).reshape(-1, 2, 640),
        mar=np.array([mouth_aspect_ratio(p) for p in track_points]),
        yaw=np.array([yaw_sign * yaw_degrees(p) for p in track_points]),
        frame_shape=frames[0].shape,
    )


def _match_actions(actions: list[str], track: _Track, config: LivenessConfig) -> tuple[list[ActionStep], list[str]]:
    """Actions in the challenged order, each starting after the previous one ended; steps and reasons."""
    steps: list[ActionStep] = []
    reasons: list[str] = []
    cursor = -1
    used_peaks: set[int] = set()
    order_broken = False
    for action in actions:
        # Events already counted for an earlier step (blink, blink) are not evidence of a wrong order.
        events = [e for e in _detect_events(action, track, config) if e.peak not in used_peaks]
        in_order = [e for e in events if e.peak > cursor and e.start >= cursor]
        if in_order:
            event = in_order[0]
            cursor = event.end
            used_peaks.add(event.peak)
            valid = track.valid
            step = ActionStep(
                action, True, valid[event.start], valid[event.peak], valid[event.end], track.times[event.peak]
            )
            steps.append(step)
        else:
            steps.append(ActionStep(action, False))
            if events:
                order_broken = True
            else:
                reasons.append(f"action_missing:{action}")
    if order_broken:
        reasons.append("wrong_order")
    return steps, reasons


def _best_positions(frames: list[np.ndarray], track: _Track, config: LivenessConfig) -> list[int]:
    """The best frames (_spread_best) among frontal frames with eyes open and mouth closed, else among any frontal
    frame; pitch is asked of the sharpest candidates only."""
    facing = [k for k in range(len(track.valid)) if abs(track.yaw[k]) <= config.best_max_yaw_deg]
    baseline_ear = float(np.percentile(track.ear, config.open_eye_percentile))
    resting = [
        k
        for k in facing
        if track.ear[k] >= config.eye_open_ratio * baseline_ear and track.mar[k] < config.mouth_closed_mar
    ]
    sharp: dict[int, float] = {}

    def upright(k: int) -> bool:
        return abs(track.pitch(k)) <= config.best_max_pitch_deg

    # Without a resting frontal frame, any frontal frame will do; the match decides on those.
    for group in (resting, facing):
        for k in group:
            if k not in sharp:
                sharp[k] = _sharpness(frames[track.valid[k]], track.boxes[k])
        chosen = _spread_best([(k, sharp[k]) for k in group], track.times, config.fusion_frames, upright)
        if chosen:
            return chosen
    return []


def _track_breaks(frames: list[np.ndarray], track: _Track, config: LivenessConfig) -> set[int]:
    """Positions on both sides of every break: a time gap, a box jump or a crop that is not the same face."""
    crops = [_crop_signature(frames[i], box) for i, box in zip(track.valid, track.boxes, strict=True)]
    out: set[int] = set()
    for k in range(1, len(track.valid)):
        if (
            track.times[k] - track.times[k - 1] > config.max_track_gap_ms
            or _jump(track.boxes[k - 1], track.boxes[k], config)
            or float(np.dot(crops[k - 1], crops[k])) < config.min_crop_correlation
        ):
            out.update((k - 1, k))
    return out


def _box_iou(box: face_models.XYWH, track_box: face_mod.Box) -> float:
    """Intersection over union of a detector box (x, y, w, h) and a track box (top, right, bottom, left)."""
    top, right, bottom, left = track_box
    width = max(0.0, min(box[0] + box[2], right) - max(box[0], left))
    height = max(0.0, min(box[1] + box[3], bottom) - max(box[1], top))
    inter = width * height
    union = box[2] * box[3] + max(0, right - left) * max(0, bottom - top) - inter
    return inter / union if union > 0 else 0.0


def sface_on_track(rgb: np.ndarray, box: face_mod.Box, points: np.ndarray, config: LivenessConfig) -> EvidenceFace:
    """SFace vector of the track's face in one frame: YuNet's face on the track box, else aligned on the 68 points."""
    model = face_models.sface_model()
    xywh = face_mod.xywh(box)
    on_track = [f for f in model.detect_near(rgb, xywh) if _box_iou(f.box, box) >= config.min_track_iou]
    if on_track:
        found = max(on_track, key=lambda f: _box_iou(f.box, box))
        return EvidenceFace(-1, found, model.embed(model.align(rgb, found)))
    standin = face_models.DetectedFace(xywh, face_models.five_from_68(points), 0.0, points)
    return EvidenceFace(-1, None, model.embed(model.align(rgb, standin)))


def _largest_step(order: list[int], vectors: dict[int, np.ndarray], distance: Callable[..., float]) -> float:
    """Largest distance between consecutive encoded positions and from the first one."""
    worst = 0.0
    for a, b in itertools.pairwise(order):
        worst = max(worst, distance(vectors[a], vectors[b]))
    for k in order[1:]:
        worst = max(worst, distance(vectors[k], vectors[order[0]]))
    return worst


def _euclidean(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(b - a))


@dataclass(slots=True)
class _Identity:
    """The track's identity check: encoded positions, dlib encodings, SFace faces and the largest distance."""

    order: list[int]
    encodings: dict[int, np.ndarray]
    sface: list[EvidenceFace]
    worst: float
    model: str


def _encode_track(
    frames: list[np.ndarray], track: _Track, best_positions: list[int], config: LivenessConfig, models: Sequence[str]
) -> _Identity:
    """Encoded positions, their vectors and the largest identity distance along the track.

    An unbroken track is one person (boxes move like a head, crops change like a face), so only the best
    frames, both sides of every break and a frame every encode_every_ms are encoded (docs/load.md). With
    SFace among ``models`` the identity check runs on SFace vectors (YuNet + SFace ~40 ms a frame against
    dlib's ~85 ms descriptor) and dlib encodes the best frames only, when ``models`` asks for dlib; when
    SFace's distance is neither clearly one person nor clearly two, dlib encodes every position and decides.
    """
    to_encode = set(best_positions) | _track_breaks(frames, track, config)
    order = sorted(_fill(to_encode, track.times, config.encode_every_ms))
    if face_models.SFaceModel.name not in models:
        encodings = {k: face_mod.encode(frames[track.valid[k]], track.boxes[k]) for k in order}
        return _Identity(order, encodings, [], _largest_step(order, encodings, _euclidean), "dlib")
    sface: dict[int, EvidenceFace] = {}
    for k in order:
        face = sface_on_track(frames[track.valid[k]], track.boxes[k], track.points[k], config)
        sface[k] = dataclasses.replace(face, index=track.valid[k])
    vectors = {k: e.vector for k, e in sface.items()}
    worst = _largest_step(order, vectors, face_models.cosine_distance)
    found = [sface[k] for k in order]
    if config.sface_same_person_distance < worst <= config.sface_switch_distance:  # SFace unsure: dlib decides
        encodings = {k: face_mod.encode(frames[track.valid[k]], track.boxes[k]) for k in order}
        return _Identity(order, encodings, found, _largest_step(order, encodings, _euclidean), "dlib")
    # dlib also when SFace has no vector of its own on the evidence frames: the caller then decides with dlib.
    own = any(sface[k].detected is not None for k in order[:MAX_EVIDENCE_FRAMES])
    dlib_positions = best_positions if "dlib" in models or not own else []
    encodings = {k: face_mod.encode(frames[track.valid[k]], track.boxes[k]) for k in dlib_positions}
    return _Identity(order, encodings, found, worst, face_models.SFaceModel.name)


def analyse_sequence(
    frames: list[np.ndarray],
    timestamps_ms: list[int],
    actions: list[str],
    *,
    config: LivenessConfig | None = None,
    models: Sequence[str] = ("dlib",),
) -> LivenessResult:
    """Check that one person performs ``actions`` in order across ``frames`` (RGB, capture times in ms).

    ``models``: the face models the caller needs vectors of. With "sface" the identity check (person_switch)
    runs on SFace vectors, returned in ``sface_faces``; dlib encodes the best frames only when "dlib" is asked
    for too (``track_encodings``). Without "sface" the check runs on dlib encodings, as it always did.
    """
    config = config or LivenessConfig()
    problems = _check_input(frames, timestamps_ms, actions, config)
    if problems:
        return _fail(problems)
    n = len(frames)
    faces_per_frame, boxes = _track_boxes(frames, config)
    points: list[np.ndarray | None] = [
        None if box is None else face_mod.landmarks(frame, box) for frame, box in zip(frames, boxes, strict=True)
    ]
    valid_count = sum(1 for p in points if p is not None)
    reasons = _face_count_reasons(faces_per_frame, valid_count, config)
    if valid_count < 2:
        return _fail(reasons or ["no_face"], faces_per_frame=faces_per_frame)

    track = _measure(frames, timestamps_ms, boxes, points, config)
    steps, action_reasons = _match_actions(actions, track, config)
    reasons += action_reasons
    nonrigid = _nonrigid_motion(track.points)
    if nonrigid < config.min_nonrigid_motion:
        reasons.append("static_sequence")
    best_positions = _best_positions(frames, track, config)
    if not best_positions:
        reasons.append("no_good_frame")
    identity = _encode_track(frames, track, best_positions, config, models)
    limit = config.sface_same_person_distance if identity.model == "sface" else config.same_person_distance
    if identity.worst > limit:
        reasons.append("person_switch")

    return LivenessResult(
        passed=not reasons,
        reasons=reasons,
        steps=steps,
        best_frame_index=track.valid[best_positions[0]] if best_positions else None,
        track_encodings=[identity.encodings[k] for k in best_positions if k in identity.encodings],
        encoded_frame_indices=[track.valid[k] for k in identity.order],
        faces_per_frame=faces_per_frame,
        ear=track.per_frame(track.ear, n),
        mar=track.per_frame(track.mar, n),
        yaw=track.per_frame(track.yaw, n),
        max_track_distance=identity.worst,
        identity_model=identity.model,
        sface_faces=identity.sface,
        nonrigid_motion=nonrigid,
        landmarks=points,
    )


# Replay signatures: a small picture of the face and of the eyes, in frame coordinates, per frame.
SIGNATURE_VERSION = 1  # stored with the signatures; rows of another version are not compared
_FACE_SIDE = 16  # face: a square of half the frame's short side around the centre of landmarks 17-67, 16x16 grey
_FACE_SHARE = 0.5  # a selfie face (eye span ~0.2-0.3 of the short side) fills it
_EYES_SIZE = (24, 8)  # eyes: 0.55 x 0.18 of the short side at the answer's median eye offset, 24x8 grey
_EYES_SHARE = (0.55, 0.18)
_CENTRE = slice(17, 68)  # brows, eyes, nose and mouth: 51 points average out landmark noise
SIGNATURE_SIZE = _FACE_SIDE * _FACE_SIDE + _EYES_SIZE[0] * _EYES_SIZE[1]
_PACKED = np.dtype([("ms", "<i4"), ("scale", "<f4"), ("q", "i1", (SIGNATURE_SIZE,))])


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Thresholds of the replay check (measured: bench/eval_replay.py, docs/liveness.md "Replay check")."""

    max_distance: float = 3e-4  # 1 - correlation; floor for a still face, chosen on bench/eval_replay.py
    neighbour_factor: float = 1.5  # ...or at most this times the frame's distance to its own neighbours
    min_fraction: float = 0.5  # replayed when this share of the new frames matches at one time offset
    time_tolerance_ms: int = 40  # a matched stored frame may sit this far from the common offset
    max_segment_ms: int = 150  # a frame may also lie between two stored frames this close (other subsampling)
    min_frames: int = 3  # fewer frames with a face say nothing


def _region(rgb: np.ndarray, centre: np.ndarray, size_px: tuple[float, float], out: tuple[int, int]) -> np.ndarray:
    """A size_px region of an RGB frame around centre, anti-aliased, as an out-sized zero-mean grey vector."""
    height, width = rgb.shape[:2]
    scale = out[0] / size_px[0]  # output pixels per frame pixel
    margin = 2.0 / scale
    x0, y0 = int(max(0, centre[0] - size_px[0] / 2 - margin)), int(max(0, centre[1] - size_px[1] / 2 - margin))
    x1 = int(min(width, math.ceil(centre[0] + size_px[0] / 2 + margin)))
    y1 = int(min(height, math.ceil(centre[1] + size_px[1] / 2 + margin)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(out[0] * out[1], dtype=np.float32)
    # Average k x k blocks first (integer factor: OpenCV's fast path), leaving 4-8 pixels per output pixel;
    # blurring the full-size crop instead costs ~5 ms a frame.
    k = max(1, int(1.0 / (4.0 * scale)))
    x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k
    size = ((x1 - x0) // k, (y1 - y0) // k)
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA) if k > 1 else grey
    fx = fy = 1.0 / k
    grey = cv2.GaussianBlur(small.astype(np.float32), (0, 0), 0.5 * fx / scale)
    # Output pixel u samples frame x = centre - size/2 + (u + 0.5) / scale, i.e. small-image (x - x0) * f - 0.5.
    left, top = centre[0] - size_px[0] / 2 - x0, centre[1] - size_px[1] / 2 - y0
    matrix = np.array(
        [[fx / scale, 0.0, (left + 0.5 / scale) * fx - 0.5], [0.0, fy / scale, (top + 0.5 / scale) * fy - 0.5]],
        dtype=np.float32,
    )
    vec = cv2.warpAffine(
        grey, matrix, out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    ).ravel()
    return vec - vec.mean()


def face_signatures(frames: Sequence[np.ndarray], landmarks: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """Per frame with landmarks: face and eye regions in frame coordinates (unit vector), None without a face.

    The regions move with the centre of landmarks 17-67 (an average of 51 points: steady under recompression),
    are sized by the frame and do not rotate: the same frame re-sent (recompressed, rescaled) gives the same
    picture, a head that moved, turned or blinked another; the room hardly enters.
    """
    found = [p for p in landmarks if p is not None]
    if not found:
        return [None] * len(frames)
    # Sizes from the frame, not from the face: the same frames re-sent at any scale give exactly the same
    # regions, where a size measured on the landmarks would differ by a fraction of a percent, enough to miss.
    unit = float(min(frames[0].shape[:2]))
    eye_offset = np.median([p[[36, 39, 42, 45]].mean(0) - p[_CENTRE].mean(0) for p in found], axis=0)
    face_px = (_FACE_SHARE * unit, _FACE_SHARE * unit)
    eyes_px = (_EYES_SHARE[0] * unit, _EYES_SHARE[1] * unit)
    out: list[np.ndarray | None] = []
    for rgb, points in zip(frames, landmarks, strict=True):
        if points is None:
            out.append(None)
            continue
        centre = points[_CENTRE].mean(0)
        face = _region(rgb, centre, face_px, (_FACE_SIDE, _FACE_SIDE))
        eyes = _region(rgb, centre + eye_offset, eyes_px, _EYES_SIZE)
        # One norm for both: closed eyes are a flat strip whose JPEG noise must not be blown up to unit size.
        vec = np.concatenate([face, eyes]).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        out.append(vec / norm if norm > 0 else vec)
    return out


def pack_signatures(signatures: Sequence[np.ndarray | None], timestamps_ms: Sequence[int]) -> bytes:
    """Frames with a signature as (ms, scale, int8 vector) records."""
    kept = [(int(t), s) for s, t in zip(signatures, timestamps_ms, strict=True) if s is not None]
    packed = np.zeros(len(kept), dtype=_PACKED)
    for row, (ms, sig) in zip(packed, kept, strict=True):
        scale = float(np.abs(sig).max()) / 127.0 or 1.0
        row["ms"], row["scale"], row["q"] = ms, scale, np.round(sig / scale).astype(np.int8)
    return packed.tobytes()


def unpack_signatures(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Capture times (ms) and unit signature vectors (one per row) of ``pack_signatures`` output."""
    packed = np.frombuffer(blob, dtype=_PACKED)
    vectors = packed["q"].astype(np.float32) * packed["scale"][:, None]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return packed["ms"].astype(np.int64), vectors / np.where(norms > 0, norms, 1.0)


def _own_steps(vectors: np.ndarray, times: np.ndarray, max_gap_ms: int) -> np.ndarray:
    """Each frame's distance (1 - correlation) to its nearest neighbour in time; 0 without one."""
    if len(vectors) < 2:
        return np.zeros(len(vectors))
    step = 1.0 - np.sum(vectors[1:] * vectors[:-1], axis=1)
    step = np.where(np.diff(times) <= max_gap_ms, step, np.inf)
    nearest = np.minimum(np.concatenate([[np.inf], step]), np.concatenate([step, [np.inf]]))
    return np.where(np.isfinite(nearest), nearest, 0.0)


def _offset_intervals(
    new: np.ndarray, new_ms: np.ndarray, old: np.ndarray, old_ms: np.ndarray, config: ReplayConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(new frame, lowest, highest time offset) for each stored frame or stored pair a new frame matches."""
    limit = np.maximum(config.max_distance, config.neighbour_factor * _own_steps(new, new_ms, config.max_segment_ms))
    point = 1.0 - new @ old.T
    tol = config.time_tolerance_ms
    rows, cols = np.nonzero(point <= limit[:, None])
    frames, lows, highs = [rows], [old_ms[cols] - tol - new_ms[rows]], [old_ms[cols] + tol - new_ms[rows]]
    if len(old) >= 2:
        # A frame between two stored frames (another subsampling of the same video) lies near their segment.
        start, along = old[:-1], old[1:] - old[:-1]
        length = np.sum(along * along, axis=1)
        usable = (np.diff(old_ms) <= config.max_segment_ms) & (length > 0)
        dot = new @ along.T - np.sum(start * along, axis=1)[None, :]
        lam = np.clip(dot / np.where(length > 0, length, 1.0), 0.0, 1.0)
        segment = point[:, :-1] - lam * dot + 0.5 * lam * lam * length  # half the squared distance to it
        rows, cols = np.nonzero((segment <= limit[:, None]) & usable[None, :])
        frames.append(rows)
        lows.append(old_ms[cols] - tol - new_ms[rows])
        highs.append(old_ms[cols + 1] + tol - new_ms[rows])
    return np.concatenate(frames), np.concatenate(lows), np.concatenate(highs)


def replay_fraction(
    new: np.ndarray,
    new_ms: Sequence[int] | np.ndarray,
    old: np.ndarray,
    old_ms: Sequence[int] | np.ndarray,
    *,
    config: ReplayConfig | None = None,
) -> float:
    """Largest share of the new frames that match the stored recording at one common time offset.

    A frame matches when its signature is within ``max_distance`` of a stored frame (or of the line between
    two consecutive stored frames), or closer than ``neighbour_factor`` times its own distance to its
    neighbouring frames: a copy is closer to the original than a live face is to itself 67 ms later.
    """
    config = config or ReplayConfig()
    if len(new) < config.min_frames or len(old) == 0:
        return 0.0
    tn, to = np.asarray(new_ms, dtype=np.float64), np.asarray(old_ms, dtype=np.float64)
    frames, lows, highs = _offset_intervals(new, tn, old, to, config)
    events: list[tuple[float, int]] = []
    order = np.lexsort((lows, frames))
    merged_lo = merged_hi = 0.0
    current = -1
    for k in order:  # per frame, merge overlapping offset intervals: a frame counts once at any offset
        i, lo, hi = int(frames[k]), float(lows[k]), float(highs[k])
        if i == current and lo <= merged_hi:
            merged_hi = max(merged_hi, hi)
            continue
        if current >= 0:
            events += [(merged_lo, -1), (merged_hi, 1)]
        current, merged_lo, merged_hi = i, lo, hi
    if current >= 0:
        events += [(merged_lo, -1), (merged_hi, 1)]
    best = covered = 0
    for _, kind in sorted(events):  # an interval opening (-1) sorts before one closing at the same offset
        covered -= kind
        best = max(best, covered)
    return best / len(new)
