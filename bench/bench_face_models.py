"""Measure dlib vs SFace verification, MiniFASNet PAD and their speed on the real faces folder.

Usage: OMP_NUM_THREADS=1 nice -n 19 uv run python bench/bench_face_models.py [FACES_DIR] [--out var/face_models.json]
Reads photos and videos by path; writes only the JSON of the figures (docs/face_models_measured.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.evaluation import list_samples, rates, summarise, threshold_at_fmr
from verification.face import analyse_face
from verification.image import decode_image
from verification.models import SFaceModel, embed_face
from verification.pad import PadConfig, PresentationDetector

CONFIG = VerificationConfig()
_MODELS: dict[str, Any] = {}


def _models() -> dict[str, Any]:
    if not _MODELS:
        cv2.setNumThreads(1)
        _MODELS["sface"] = SFaceModel()
        _MODELS["sface_full"] = SFaceModel(align_max_face=None)
        _MODELS["pad"] = PresentationDetector()
        _MODELS["pad_full"] = PresentationDetector(PadConfig(normalise_side=100_000))
    return _MODELS


def photo_record(path: str) -> dict[str, Any]:
    """dlib encoding, SFace embeddings (two align variants) and PAD scores of one photo."""
    models = _models()
    out: dict[str, Any] = {"path": path}
    try:
        rgb = decode_image(Path(path).read_bytes(), config=CONFIG)
    except VerificationError as exc:
        return {**out, "dlib_failure": exc.code, "sface_failure": exc.code}
    try:
        out["dlib"] = analyse_face(rgb, config=CONFIG).encoding.tolist()
    except VerificationError as exc:
        out["dlib_failure"] = exc.code
    try:
        face, vector = embed_face(models["sface"], rgb)
        out["sface"] = vector.tolist()
        out["sface_full"] = models["sface_full"].embed(models["sface_full"].align(rgb, face)).tolist()
        out["pad"] = models["pad"].score(rgb, face.box)
        out["pad_full"] = models["pad_full"].score(rgb, face.box)
        out["long_side"] = max(rgb.shape[:2])
    except VerificationError as exc:
        out["sface_failure"] = exc.code
    return out


def embed_all(paths: list[str], processes: int) -> dict[str, dict[str, Any]]:
    """photo_record for every path (in worker processes)."""
    if processes > 1:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            records = pool.map(photo_record, paths, chunksize=4)
    else:
        records = [photo_record(p) for p in paths]
    return {r["path"]: r for r in records}


# --- verification ---------------------------------------------------------------------------------


def distance_matrix(vectors: np.ndarray, kind: str) -> np.ndarray:
    """Pairwise euclidean (dlib raw) or cosine distances (normalised embeddings)."""
    if kind == "euclidean":
        sq = (vectors**2).sum(1)
        return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * vectors @ vectors.T, 0.0))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return 1.0 - unit @ unit.T


def cohort_normalised(dist: np.ndarray, ids: np.ndarray, pairs: np.ndarray, k: int = 5) -> np.ndarray:
    """distance / mean of both photos' k-NN distances to photos of identities other than the pair's two."""
    out = np.empty(len(pairs))
    groups: dict[tuple[str, str], list[int]] = {}
    for n, (i, j) in enumerate(pairs):
        a, b = sorted((ids[i], ids[j]))
        groups.setdefault((a, b), []).append(n)
    for (a, b), members in groups.items():
        mask = (ids != a) & (ids != b)
        rows = sorted({int(x) for n in members for x in pairs[n]})
        sub = dist[np.ix_(np.array(rows), np.flatnonzero(mask))]
        spread = dict(zip(rows, np.sort(sub, axis=1)[:, :k].mean(1), strict=True))
        for n in members:
            i, j = pairs[n]
            out[n] = dist[i, j] / (0.5 * (spread[int(i)] + spread[int(j)]))
    return out


def pair_scores(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    """Genuine labels and every score for all pairs of photos both models acquired."""
    keep = [n for n, r in enumerate(records) if "dlib" in r and "sface" in r]
    idv = np.array([ids[n] for n in keep])
    pairs = np.array(list(itertools.combinations(range(len(keep)), 2)))
    genuine = idv[pairs[:, 0]] == idv[pairs[:, 1]]
    scores: dict[str, np.ndarray] = {}
    for name, key, kind in (
        ("dlib raw (euclidean)", "dlib", "euclidean"),
        ("SFace raw (cosine distance)", "sface", "cosine"),
        ("SFace, aligned at full resolution", "sface_full", "cosine"),
    ):
        dist = distance_matrix(np.array([records[n][key] for n in keep]), kind)
        scores[name] = dist[pairs[:, 0], pairs[:, 1]]
        if key != "sface_full":
            scores[name.split(" raw")[0] + " cohort-normalised (k=5)"] = cohort_normalised(dist, idv, pairs)
    z = [
        (s - s[~genuine].mean()) / s[~genuine].std()
        for s in (scores["dlib raw (euclidean)"], scores["SFace raw (cosine distance)"])
    ]
    scores["fused: mean of impostor-z-scored dlib and SFace"] = 0.5 * (z[0] + z[1])
    groups = np.array([records[n].get("group", "") for n in keep])
    return {"genuine": genuine, "scores": scores, "pairs": pairs, "groups": groups, "photos": len(keep)}


def accuracy_table(data: dict[str, Any]) -> dict[str, Any]:
    """summarise() for every score, plus the SFace threshold at FMR ≤ 0.1%."""
    gen = data["genuine"]
    table = {name: summarise(s[gen], s[~gen]) for name, s in data["scores"].items()}
    sface = data["scores"]["SFace raw (cosine distance)"]
    t = threshold_at_fmr(sface[~gen], 0.001)
    fmr, fnmr = rates(sface[gen], sface[~gen], t)
    return {"photos_scored": data["photos"], "scores": table, "sface_threshold_fmr_0_1": [t, fmr, fnmr]}


def at_threshold(data: dict[str, Any], name: str, threshold: float) -> dict[str, float]:
    """FMR and FNMR of one score at a given threshold (and East-Asian impostor FMR where labelled)."""
    gen, s = data["genuine"], data["scores"][name]
    fmr, fnmr = rates(s[gen], s[~gen], threshold)
    out = {"threshold": threshold, "fmr": fmr, "fnmr": fnmr}
    g = data["groups"]
    ea = (~gen) & (g[data["pairs"][:, 0]] == "east_asian") & (g[data["pairs"][:, 1]] == "east_asian")
    if ea.any():
        out["east_asian_impostor_fmr"] = float(np.mean(s[ea] <= threshold))
        out["east_asian_impostor_pairs"] = int(ea.sum())
    return out


def evaluate_set(directory: Path, processes: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Records, pair scores and accuracy table of one folder (identities/ + impostors_single/ if present)."""
    samples = list_samples(directory)
    records = embed_all([s.path for s in samples], processes)
    ordered = [records[s.path] | {"group": s.group} for s in samples]
    data = pair_scores(ordered, [s.identity for s in samples])
    table = accuracy_table(data)
    table["failed_to_acquire"] = {
        "dlib": sum("dlib" not in r for r in ordered),
        "sface": sum("sface" not in r for r in ordered),
        "photos": len(ordered),
    }
    return table, data, ordered


# --- PAD ------------------------------------------------------------------------------------------


def video_pad(path: Path, every: int) -> dict[str, Any]:
    """PAD P(real) of the largest face on every ``every``-th frame of a video."""
    models = _models()
    capture = cv2.VideoCapture(str(path))
    scores, frames, index = [], 0, 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        index += 1
        if (index - 1) % every:
            continue
        frames += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        faces = models["sface"].detect(rgb)
        if faces:
            scores.append(models["pad"].score(rgb, faces[0].box))
    capture.release()
    return {"frames": frames, "scores": scores}


def describe(scores: list[float]) -> dict[str, Any]:
    """Count, quantiles and share at or above candidate thresholds."""
    a = np.asarray(scores, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    out: dict[str, Any] = {"n": int(a.size), "min": float(a.min()), "p5": float(np.percentile(a, 5))}
    out |= {"median": float(np.median(a)), "max": float(a.max())}
    out |= {f"share_ge_{t}": float(np.mean(a >= t)) for t in (0.3, 0.5, 0.7, 0.9)}
    return out


def pad_report(faces_dir: Path, photo_records: list[dict[str, Any]]) -> dict[str, Any]:
    """P(real) on real photos, spoof stills, real action videos and the screen replay."""
    real = [r for r in photo_records if "pad" in r and "/identities/" in r["path"]]
    big = [r for r in real if r["long_side"] > 1000]
    out: dict[str, Any] = {
        "identities photos (crop from 640 px copy)": describe([r["pad"] for r in real]),
        "identities photos (crop at full resolution)": describe([r["pad_full"] for r in real]),
        "identities photos > 1000 px (640 px copy)": describe([r["pad"] for r in big]),
        "identities photos > 1000 px (full resolution)": describe([r["pad_full"] for r in big]),
    }
    models = _models()
    for still in sorted((faces_dir / "spoof").glob("*/*.jpg")):
        rgb = decode_image(still.read_bytes(), config=CONFIG)
        faces = models["sface"].detect(rgb)
        out[f"spoof/{still.parent.name}"] = models["pad"].score(rgb, faces[0].box) if faces else None
    videos = sorted((faces_dir / "video" / "actions").glob("*.mp4")) + sorted(
        (faces_dir / "video" / "blink").glob("*.mp4")
    )
    for video in [*videos, *sorted((faces_dir / "spoof" / "replay_video").glob("*.mp4"))]:
        result = video_pad(video, every=5)
        out[str(video.relative_to(faces_dir))] = describe(result["scores"]) | {"frames_sampled": result["frames"]}
    return out


# --- speed ----------------------------------------------------------------------------------------


def _median_ms(fn: Any, items: list[Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        for item in items:
            started = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def speed_report(faces_dir: Path) -> dict[str, Any]:
    """Median ms on one thread: YuNet per 640 px frame, SFace align+embed per face, PAD per face."""
    cv2.setNumThreads(1)
    models = _models()
    sface, pad = models["sface"], models["pad"]
    capture = cv2.VideoCapture(str(faces_dir / "video" / "actions" / "head_turns_real.mp4"))
    frames = []
    for _ in range(60):
        ok, bgr = capture.read()
        if ok:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            frames.append(cv2.resize(rgb, None, fx=640 / max(rgb.shape[:2]), fy=640 / max(rgb.shape[:2])))
    capture.release()
    frames = frames[::3]
    faces = [(f, sface.detect(f)[0]) for f in frames]
    chips = [sface.align(f, face) for f, face in faces]
    return {
        "cv2": cv2.__version__,
        "cv2_threads": cv2.getNumThreads(),
        "frame_size": list(frames[0].shape[:2]),
        "frames": len(frames),
        "yunet_detect_ms_per_640px_frame": _median_ms(sface.detect, frames),
        "sface_align_ms_per_face": _median_ms(lambda fc: sface.align(*fc), faces),
        "sface_embed_ms_per_face": _median_ms(sface.embed, chips),
        "pad_two_models_ms_per_face": _median_ms(lambda fc: pad.score(fc[0], fc[1].box), faces),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def main() -> None:
    """Run every measurement and write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("faces", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "faces"))
    parser.add_argument("--out", default="var/face_models.json")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    faces_dir = Path(args.faces)
    report: dict[str, Any] = {"speed": speed_report(faces_dir)}
    print(json.dumps(report["speed"], indent=1), flush=True)
    mixed, mixed_data, mixed_records = evaluate_set(faces_dir, args.processes)
    east, east_data, _ = evaluate_set(faces_dir / "east_asian", args.processes)
    name = "SFace raw (cosine distance)"
    mixed["transfer"] = at_threshold(mixed_data, name, east["sface_threshold_fmr_0_1"][0])
    east["transfer"] = at_threshold(east_data, name, mixed["sface_threshold_fmr_0_1"][0])
    mixed["at_own_threshold"] = at_threshold(mixed_data, name, mixed["sface_threshold_fmr_0_1"][0])
    report |= {"mixed": mixed, "east_asian": east, "pad": pad_report(faces_dir, mixed_records)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(_jsonable(report), indent=1))
    print(json.dumps(_jsonable({k: v for k, v in report.items() if k != "speed"}), indent=1))


if __name__ == "__main__":
    main()
