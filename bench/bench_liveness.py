"""Core-seconds per 45-frame liveness answer as the face pool runs it (liveness + SFace + anti-spoofing), one core.

    .venv/bin/python bench/bench_liveness.py [--repeat 10] [--faces ../shared/faces]

The job timed is ``faces.liveness.analyse_submission`` (JPEG decode, replay signatures, the liveness analysis, SFace
and MiniFASNet on the evidence frames) plus the 1:1 decision, on 3 s of the real blink recording at 15 fps
(45 JPEG frames, 480x854 portrait), the answer bench/bench_load.py sends. Then each library call it makes is timed
bare on the same frames (the raw floor: what the same models cost without the pipeline around them).
Target: <= 0.25 core-s per answer (issue 13). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faces.liveness import analyse_submission  # noqa: E402
from verification import face as face_mod  # noqa: E402
from verification import model_decision  # noqa: E402
from verification.config import VerificationConfig  # noqa: E402
from verification.evaluation import EvalConfigs  # noqa: E402
from verification.face import fr  # noqa: E402
from verification.image import downscale  # noqa: E402
from verification.liveness import LivenessConfig, detect_track_faces, face_signatures  # noqa: E402
from verification.models import embed_face, sface_model  # noqa: E402
from verification.pad import presentation_detector  # noqa: E402
from verification.tracking import track_detector  # noqa: E402
from verification.video import decode_video, subsample  # noqa: E402

TARGET_CORE_S = 0.25


def recording(faces: Path) -> tuple[list[bytes], list[int], np.ndarray]:
    """3 s of the blink video at 15 fps as JPEG frames (quality 90, as the app sends) and an enrolment frame."""
    video = decode_video((faces / "video/blink/blink_detector_video.mp4").read_bytes())
    keep = [i for i, t in enumerate(video.timestamps_ms) if t < 3000]
    frames, times = subsample([video.frames[i] for i in keep], [video.timestamps_ms[i] for i in keep], 15)
    jpegs = [
        cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        for f in frames
    ]
    enrol = next(i for i, t in enumerate(video.timestamps_ms) if t >= 11000)
    return jpegs, [t - times[0] for t in times], video.frames[enrol]


def cpu(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Process CPU seconds of each run (one core pinned: CPU time = core time) and the last result."""
    fn()  # warm-up: models loaded, caches filled
    out, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        out.append(time.process_time() - start)
    return out, result


def shipped(jpegs: list[bytes], times: list[int], templates: dict[str, np.ndarray], dlib: bool) -> tuple[Any, Any]:
    """The face-pool job of one answer and the deciding model's decision: SFace for a pensioner with an SFace
    template (no dlib at all), dlib for one still decided by dlib (dlib encodes the best frames as well)."""
    analysed = analyse_submission(jpegs, times, None, ["blink"], 2_000_000, 30_000_000, True, True, False, dlib)
    configs = EvalConfigs.defaults()
    if dlib:
        probes = analysed.result.track_encodings
        return analysed, model_decision.decide("dlib", probes, [templates["dlib"]], cohort=None, config=configs.dlib)
    return analysed, model_decision.decide(
        "sface", analysed.sface, [templates["sface"]], cohort=None, config=configs.sface
    )


def floor_parts(jpegs: list[bytes], analysed: Any) -> dict[str, Callable[[], Any]]:
    """The library calls of one answer, each made bare on the same frames (the raw floor)."""
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    rgb = [cv2.imdecode(np.frombuffer(j, np.uint8), flags) for j in jpegs]
    cfg = LivenessConfig()
    side = cfg.track_side
    small = [cv2.cvtColor(downscale(f, side)[0], cv2.COLOR_RGB2BGR) for f in rgb]
    detected = sorted({*range(0, len(rgb), cfg.detect_every), len(rgb) - 1})
    boxes = [detect_track_faces(f, cfg)[0] for f in rgb]
    rects = [face_mod._rect(b) for b in boxes]
    encoded = analysed.result.encoded_frame_indices
    shapes = {i: fr.pose_predictor_68_point(rgb[i], rects[i]) for i in encoded}
    points = [face_mod.landmarks(f, b) for f, b in zip(rgb, boxes, strict=True)]
    sface, pad, yunet = sface_model(), presentation_detector(), track_detector(side)
    near = {i: face_mod.xywh(boxes[i]) for i in encoded}
    faces = {i: sface.detect_near(rgb[i], near[i])[0] for i in encoded}
    return {
        f"JPEG decode x{len(jpegs)} (cv2.imdecode, RGB)": lambda: [
            cv2.imdecode(np.frombuffer(j, np.uint8), flags) for j in jpegs
        ],
        f"YuNet x{len(detected)} ({side} px copy)": lambda: [yunet._rows(small[i]) for i in detected],
        f"68 landmarks x{len(rgb)}": lambda: [
            fr.pose_predictor_68_point(f, r) for f, r in zip(rgb, rects, strict=True)
        ],
        f"dlib descriptor x{len(encoded)}": lambda: [
            fr.face_encoder.compute_face_descriptor(rgb[i], shapes[i], 1) for i in encoded
        ],
        f"replay signatures x{len(rgb)}": lambda: face_signatures(rgb, points),
        f"YuNet (face region) x{len(encoded)}": lambda: [sface.detect_near(rgb[i], near[i]) for i in encoded],
        f"SFace align+feature x{len(encoded)}": lambda: [sface.embed(sface.align(rgb[i], faces[i])) for i in encoded],
        f"MiniFASNet x2 nets x{len(encoded)}": lambda: [pad.score(rgb[i], faces[i].box) for i in encoded],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    default_faces = os.environ.get("PENSION_CERT_TEST_FACES", str(Path(__file__).resolve().parents[2] / "shared/faces"))
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    jpegs, times, enrol_frame = recording(args.faces)
    enrol = face_mod.analyse_face(np.ascontiguousarray(enrol_frame), config=VerificationConfig()).encoding
    templates = {"dlib": enrol, "sface": embed_face(sface_model(), enrol_frame)[1]}
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    runs = {}
    for label, dlib in (("SFace pensioner (shipped)", False), ("dlib pensioner (legacy)", True)):
        wall0 = time.perf_counter()
        timings, (analysed, decision) = cpu(lambda dlib=dlib: shipped(jpegs, times, templates, dlib), args.repeat)
        runs[label] = (timings, analysed, decision, (time.perf_counter() - wall0) / (args.repeat + 1))
    analysed = runs["dlib pensioner (legacy)"][1]
    print(f"answer: {len(jpegs)} JPEG frames 480x854, span {times[-1] - times[0]} ms, challenge blink")
    median = 0.0
    for label, (timings, got, decision, wall) in runs.items():
        result = got.result
        p95 = sorted(timings)[max(0, round(0.95 * len(timings)) - 1)]
        median = median or statistics.median(timings)
        print(
            f"{label}: liveness passed {result.passed} {result.reasons}, identity check on {result.identity_model} "
            f"(max distance {result.max_track_distance:.3f}), encoded frames {len(result.encoded_frame_indices)}, "
            f"P(real) {got.pad_real:.3f}, decision {decision.decision} ({decision.score:.3f})"
        )
        print(
            f"  job + decision: median {statistics.median(timings):.3f} core-s, p95 {p95:.3f} "
            f"(wall {wall:.3f} s), target <= {TARGET_CORE_S}"
        )
    print("raw floor, each library call bare on the same frames (median core-s):")
    total = dlib_part = 0.0
    for name, fn in floor_parts(jpegs, analysed).items():
        part = statistics.median(cpu(fn, args.repeat)[0])
        total += part
        dlib_part = part if name.startswith("dlib descriptor") else dlib_part
        print(f"  {name:<40} {part:.3f}")
    print(f"  {'raw floor, sum':<40} {total:.3f}")
    print(f"SFace pensioner's job over the floor without dlib descriptors: {median - total + dlib_part:.3f} core-s")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
