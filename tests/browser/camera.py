"""Fake-camera files made at test time from the shared real recordings (nothing of them is committed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def video_to_y4m(source: Path, target: Path, *, width: int = 640, fps: int = 15, max_seconds: float = 20) -> Path:
    """Write `source` (any video OpenCV reads) as a 4:2:0 .y4m Chromium's fake camera can play."""
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise FileNotFoundError(source)
    src_fps = cap.get(cv2.CAP_PROP_FPS) or fps
    step, frames, t = src_fps / fps, [], 0.0
    index = 0
    while len(frames) < int(max_seconds * fps):
        ok, frame = cap.read()
        if not ok:
            break
        if index >= t:
            frames.append(frame)
            t += step
        index += 1
    cap.release()
    if not frames:
        raise ValueError(f"no frames in {source}")
    return frames_to_y4m(frames, target, width=width, fps=fps)


def frames_to_y4m(frames: list[np.ndarray], target: Path, *, width: int = 640, fps: int = 15) -> Path:
    """Write BGR frames (resized to an even `width`) as a .y4m file."""
    h0, w0 = frames[0].shape[:2]
    height = int(round(h0 * width / w0 / 2) * 2)
    with open(target, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            yuv = cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420)
            out.write(b"FRAME\n")
            out.write(yuv.tobytes())
    return target
