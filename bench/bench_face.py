"""Time per phone selfie on one core: the shipped photo checks (SFace pensioner: no dlib; legacy dlib pensioner:
dlib + SFace), their parts, and the raw floor of each model's library measured in the same run.

    .venv/bin/python bench/bench_face.py [FACES_DIR] [--repeat 10] [--throughput]

Selfies: a real photo (identities/Kit_Harington/1.jpeg) upscaled to 3024x4032 (12 MP) and 1280x960 JPEGs.
Shipped = ``faces.pool.analyse_photo`` with the models ``faces.matching.probe_models`` asks for (what a counter,
visit or app photo costs in the face pool) plus the decision of the deciding model: ("sface",) for a pensioner
SFace decides for, ("dlib", "sface") for a pensioner without an SFace template.
Target (issue 13): <= 80 ms per 12 MP selfie on one core. Asserts nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import face_recognition  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faces.pool import PhotoAnalysis, analyse_photo  # noqa: E402
from verification import model_decision  # noqa: E402
from verification.config import VerificationConfig  # noqa: E402
from verification.evaluation import EvalConfigs  # noqa: E402
from verification.face import analyse_face  # noqa: E402
from verification.image import decode_image, downscale  # noqa: E402
from verification.models import embed_face, sface_model  # noqa: E402
from verification.pad import presentation_score  # noqa: E402
from verification.photo import assess_quality5, decode_reduced, detect_one  # noqa: E402

CONFIG = VerificationConfig()
CONFIGS = EvalConfigs.defaults()
SOURCE = "identities/Kit_Harington/1.jpeg"
ENROL = "identities/Kit_Harington/3.jpg"
TARGET_MS = 80.0


def make_selfies(faces: Path, out: Path) -> dict[str, Path]:
    """Upscale a real photo into portrait phone-sized JPEGs."""
    rgb = face_recognition.load_image_file(faces / SOURCE)
    paths = {}
    for name, (w, h) in {"3024x4032 (12 MP)": (3024, 4032), "1280x960": (1280, 960)}.items():
        scale = max(w / rgb.shape[1], h / rgb.shape[0])
        big = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        top, left = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        path = out / f"selfie_{w}x{h}.jpg"
        cv2.imwrite(
            str(path),
            cv2.cvtColor(big[top : top + h, left : left + w], cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, 92],
        )
        paths[name] = path
    return paths


def cpu_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and p95 process CPU ms (one pinned core: CPU time = core time), after one warm-up."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        out.append(1000 * (time.process_time() - start))
    ordered = sorted(out)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def shipped_sface(data: bytes, templates: dict[str, np.ndarray]) -> str:
    """The face pool's photo check for an SFace pensioner (no dlib) with PAD, then SFace's decision."""
    analysis = analyse_photo(data, CONFIG, None, ("sface",), True)
    assert isinstance(analysis, PhotoAnalysis) and analysis.face is None
    probe = analysis.vectors["sface"]
    return model_decision.decide("sface", probe, [templates["sface"]], cohort=None, config=CONFIGS.sface).decision


def shipped_dlib(data: bytes, templates: dict[str, np.ndarray]) -> str:
    """The face pool's photo check for a legacy dlib pensioner (dlib + SFace + PAD), then dlib's decision."""
    analysis = analyse_photo(data, CONFIG, None, ("dlib", "sface"), True)
    assert isinstance(analysis, PhotoAnalysis)
    probe = analysis.vectors["dlib"]
    return model_decision.decide("dlib", probe, [templates["dlib"]], cohort=None, config=CONFIGS.dlib).decision


def dlib_part(data: bytes, templates: dict[str, np.ndarray]) -> str:
    """Decode + dlib analyse_face (HOG on 640 px, 68 landmarks, encoding, quality) + dlib's raw decision."""
    face = analyse_face(decode_image(data, config=CONFIG), config=CONFIG)
    return model_decision.decide("dlib", face.encoding, [templates["dlib"]], cohort=None, config=CONFIGS.dlib).decision


def sface_parts(data: bytes) -> dict[str, Callable[[], Any]]:
    """The steps of the SFace-only check, each on its own input (decode, YuNet, quality, align + embed, PAD)."""
    model = sface_model()
    decoded = decode_reduced(data, config=CONFIG, min_side=640)
    face, small, scale = detect_one(model, decoded.rgb, config=CONFIG)
    box = (face.box[0] * scale, face.box[1] * scale, face.box[2] * scale, face.box[3] * scale)
    return {
        "  decode (cv2 DCT-reduced, long side >= 640)": lambda: decode_reduced(data, config=CONFIG, min_side=640),
        "  YuNet on the 640 px copy (incl. the copy)": lambda: detect_one(model, decoded.rgb, config=CONFIG),
        "  quality gates on YuNet's box + 5 points": lambda: assess_quality5(decoded.rgb, face, config=CONFIG),
        "  SFace align + embed": lambda: model.embed(model.align(decoded.rgb, face)),
        "  PAD (two MiniFASNet on the 640 px copy)": lambda: presentation_score(small, box),
    }


def raw_dlib(path: Path) -> np.ndarray:
    """face_recognition as documented: load, locate, encode (full resolution)."""
    image = face_recognition.load_image_file(path)
    return face_recognition.face_encodings(image, face_recognition.face_locations(image), model="large")[0]


def raw_dlib_small(path: Path) -> np.ndarray:
    """The same library calls on a 640 px copy (what our detection sees)."""
    small, _ = downscale(face_recognition.load_image_file(path), CONFIG.detect_max_side)
    return face_recognition.face_encodings(small, face_recognition.face_locations(small), model="large")[0]


def raw_sface(data: bytes) -> np.ndarray:
    """OpenCV's documented YuNet + SFace calls: imdecode at 1/2 (as our decoder drafts), 640 px copy, detect, feature."""
    model = sface_model()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
    scale = 640 / max(bgr.shape[:2])
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    model._detector.setInputSize((small.shape[1], small.shape[0]))
    _, rows = model._detector.detect(small)
    return np.asarray(model._recogniser.feature(model._recogniser.alignCrop(small, rows[0])))


def _work(path: str) -> None:
    analyse_photo(Path(path).read_bytes(), CONFIG, None, ("sface",), True)


def throughput(path: Path, processes: int, n: int = 24) -> float:
    """Photo checks per second with a pool of `processes` workers."""
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_work, [str(path)] * processes)
        start = time.perf_counter()
        pool.map(_work, [str(path)] * n, chunksize=1)
        return n / (time.perf_counter() - start)


def report(name: str, path: Path, templates: dict[str, np.ndarray], repeat: int) -> None:
    """One selfie size: both shipped checks, their parts and the raw floors, side by side."""
    data = path.read_bytes()
    rows = {
        "shipped, SFace pensioner: SFace-only check + PAD + decision": cpu_ms(
            lambda: shipped_sface(data, templates), repeat
        ),
        **{label: cpu_ms(fn, repeat) for label, fn in sface_parts(data).items()},
        "shipped, legacy dlib pensioner: dlib + SFace + PAD + decision": cpu_ms(
            lambda: shipped_dlib(data, templates), repeat
        ),
        "  dlib part: decode + analyse_face + decision": cpu_ms(lambda: dlib_part(data, templates), repeat),
        "  decode (Pillow, DCT draft to >= 1600 px)": cpu_ms(lambda: decode_image(data, config=CONFIG), repeat),
        "raw floor dlib: face_recognition at full resolution": cpu_ms(lambda: raw_dlib(path), max(3, repeat // 3)),
        "raw floor dlib: face_recognition on a 640 px copy": cpu_ms(lambda: raw_dlib_small(path), repeat),
        "raw floor SFace: cv2 imdecode/2 + YuNet 640 + SFace": cpu_ms(lambda: raw_sface(data), repeat),
    }
    decisions = f"SFace {shipped_sface(data, templates)}, dlib {shipped_dlib(data, templates)}"
    print(f"{name}: {decisions} (CPU ms, one core, median / p95 of {repeat}; target <= {TARGET_MS:.0f})")
    for label, (median, p95) in rows.items():
        print(f"  {label:<62} {median:7.1f} / {p95:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faces", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/faces"))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--throughput", action="store_true", help="also photo checks/s with 1 and 2 processes")
    args = parser.parse_args()
    faces = Path(args.faces)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    enrol = decode_image((faces / ENROL).read_bytes(), config=CONFIG)
    templates = {"dlib": analyse_face(enrol, config=CONFIG).encoding, "sface": embed_face(sface_model(), enrol)[1]}
    with tempfile.TemporaryDirectory() as tmp:
        selfies = make_selfies(faces, Path(tmp))
        for name, path in selfies.items():
            report(name, path, templates, args.repeat)
        if args.throughput:
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
            big = selfies["3024x4032 (12 MP)"]
            one, two = throughput(big, 1), throughput(big, 2)
            print(f"throughput 12 MP: 1 process {one:.2f}/s, 2 processes {two:.2f}/s, ratio {two / one:.2f}")


if __name__ == "__main__":
    main()
