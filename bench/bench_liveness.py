"""Time the liveness analysis of a 15-frame 640x480 sequence plus the 1:1 match, on one core.

.venv/bin/python bench/bench_liveness.py [--repeat 20] [--faces ../shared/faces]
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from verification import face, matching  # noqa: E402
from verification.config import VerificationConfig  # noqa: E402
from verification.liveness import LivenessConfig, analyse_sequence  # noqa: E402
from verification.video import VideoLimits, decode_video_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    default_faces = os.environ.get("PENSION_CERT_TEST_FACES", str(Path(__file__).resolve().parents[2] / "shared/faces"))
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)

    video = decode_video_file(
        str(args.faces / "video/blink/blink_detector_video.mp4"), limits=VideoLimits(target_fps=15, max_side=854)
    )
    # 15 frames (about 1 s at 15 fps) around the first blink, cropped to a 480x640 portrait frame.
    first = next(i for i, t in enumerate(video.timestamps_ms) if t >= 250)
    frames = [np.ascontiguousarray(f[107:747, :]) for f in video.frames[first : first + 15]]
    times = video.timestamps_ms[first : first + 15]
    assert frames[0].shape == (640, 480, 3), frames[0].shape
    face_config = VerificationConfig()
    enrol = face.analyse_face(np.ascontiguousarray(video.frames[-40]), config=face_config).encoding
    config = LivenessConfig()

    timings, live_only = [], []
    result = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = analyse_sequence(frames, times, ["blink"], config=config)
        middle = time.perf_counter()
        decision = matching.verify(result.track_encodings, [enrol], config=face_config)
        end = time.perf_counter()
        live_only.append(middle - start)
        timings.append(end - start)
    assert result is not None
    p95 = sorted(timings)[max(0, round(0.95 * len(timings)) - 1)]
    print(f"frames: {len(frames)} x {frames[0].shape[1]}x{frames[0].shape[0]}, span {times[-1] - times[0]} ms")
    print(f"liveness passed: {result.passed} {result.reasons}; match: {decision.decision} ({decision.distance:.3f})")
    print(f"encoded frames: {len(result.encoded_frame_indices)} of {len(frames)}")
    print(f"liveness only     median {1000 * statistics.median(live_only):.0f} ms")
    print(f"liveness + match  median {1000 * statistics.median(timings):.0f} ms, p95 {1000 * p95:.0f} ms")


if __name__ == "__main__":
    main()
