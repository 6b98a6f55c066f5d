"""Decoding of short liveness recordings (MP4/WebM bytes) into RGB frames with capture times in ms."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np

from verification.errors import VerificationError
from verification.image import downscale

VIDEO_MESSAGES: dict[str, tuple[str, str]] = {
    "video_too_large": (
        "视频文件太大，请录制几秒钟的短视频。",
        "The video file is too large; record a few seconds only.",
    ),
    "not_a_video": ("视频无法读取，请重新录制。", "The video cannot be read; record it again."),
    "video_too_long": (
        "视频太长，请在提示后几秒内完成动作。",
        "The video is too long; do the actions within a few seconds.",
    ),
    "video_too_many_frames": (
        "视频帧数过多，请使用手机相机的普通模式录制。",
        "The video has too many frames; use the camera's normal mode.",
    ),
}


class VideoError(VerificationError):
    """A recording that cannot be analysed; same ``code`` / ``message_zh`` / ``message_en`` as photos."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in VIDEO_MESSAGES:
            raise ValueError(f"unknown video error code {code!r}")
        Exception.__init__(self, f"{code}: {detail}" if detail else code)
        self.code = code
        self.message_zh, self.message_en = VIDEO_MESSAGES[code]
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Limits applied while decoding; the defaults allow a 20 s phone clip and nothing much larger."""

    max_bytes: int = 30 * 1024 * 1024  # a 20 s 720p H.264 phone clip is 5-15 MB
    max_duration_ms: int = 20_000
    max_decoded_frames: int = 20 * 60  # 20 s at 60 fps
    target_fps: float = 15.0  # a 150 ms blink closure still spans 2 frames at 15 fps (docs/liveness.md)
    max_side: int = 960  # frames are downscaled to this long side as they are decoded


@dataclass(frozen=True, slots=True)
class DecodedVideo:
    """Sampled frames (RGB uint8) and their capture times in ms from the start of the clip."""

    frames: list[np.ndarray]
    timestamps_ms: list[int]
    decoded_frames: int
    fps: float


def _suffix(data: bytes) -> str:
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    raise VideoError("not_a_video", "neither MP4 (ftyp) nor WebM (EBML) magic bytes")


def decode_video(data: bytes, *, limits: VideoLimits | None = None) -> DecodedVideo:
    """Decode MP4/WebM bytes, sub-sampled to about ``limits.target_fps``; raise VideoError when refused."""
    limits = limits or VideoLimits()
    if len(data) > limits.max_bytes:
        raise VideoError("video_too_large", f"{len(data)} bytes > {limits.max_bytes}")
    suffix = _suffix(data)
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="liveness-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return _decode_file(path, limits)
    finally:
        os.unlink(path)


def decode_video_file(path: str, *, limits: VideoLimits | None = None) -> DecodedVideo:
    """As ``decode_video`` for a file already on disk (evaluation, benchmarks)."""
    with open(path, "rb") as handle:
        return decode_video(handle.read(), limits=limits)


def _decode_file(path: str, limits: VideoLimits) -> DecodedVideo:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise VideoError("not_a_video", "OpenCV cannot open the container")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if declared > limits.max_decoded_frames:
            raise VideoError("video_too_many_frames", f"{declared} frames declared")
        frames: list[np.ndarray] = []
        times: list[int] = []
        decoded = 0
        last_ms = -1
        next_due = 0.0
        step_ms = 1000.0 / limits.target_fps
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            decoded += 1
            if decoded > limits.max_decoded_frames:
                raise VideoError("video_too_many_frames", f"more than {limits.max_decoded_frames} frames")
            ms = float(capture.get(cv2.CAP_PROP_POS_MSEC))
            if (ms <= 0 and decoded > 1) or ms <= last_ms:
                # Some containers report no per-frame time: fall back to index / fps.
                ms = (decoded - 1) * 1000.0 / fps if fps > 0 else float(last_ms + 1)
            if ms <= last_ms:
                ms = last_ms + 1
            last_ms = round(ms)
            if last_ms > limits.max_duration_ms:
                raise VideoError("video_too_long", f"longer than {limits.max_duration_ms} ms")
            # Keep the first frame at or after each point of a target_fps grid (10% slack for jitter).
            if last_ms >= next_due - 0.1 * step_ms:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                small, _ = downscale(rgb, limits.max_side)
                frames.append(np.ascontiguousarray(small))
                times.append(last_ms)
                next_due = max(next_due + step_ms, last_ms + 0.5 * step_ms)
        if decoded == 0:
            raise VideoError("not_a_video", "no frame could be decoded")
        return DecodedVideo(frames=frames, timestamps_ms=times, decoded_frames=decoded, fps=fps)
    finally:
        capture.release()


def subsample(
    frames: list[np.ndarray], timestamps_ms: list[int], target_fps: float
) -> tuple[list[np.ndarray], list[int]]:
    """Keep frames at most about ``target_fps`` (by capture time); the first frame is always kept."""
    step_ms = 1000.0 / target_fps
    kept_frames: list[np.ndarray] = []
    kept_times: list[int] = []
    next_due: float | None = None
    for frame, ms in zip(frames, timestamps_ms, strict=True):
        if next_due is None or ms >= next_due - 0.1 * step_ms:
            kept_frames.append(frame)
            kept_times.append(ms)
            next_due = ms + step_ms if next_due is None else max(next_due + step_ms, ms + 0.5 * step_ms)
    return kept_frames, kept_times
