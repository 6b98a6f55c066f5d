"""Replay check on real recordings: true replays against genuine retries, old whole-frame hash vs face signature.

    .venv/bin/python bench/eval_replay.py [--faces ../shared/faces] [--json OUT]

For the blink video and every clip in video/actions/, 3 s windows (every 1.5 s) are cut on the 15 fps grid
the video decoder uses and analysed as an app answer would be (``analyse_sequence`` → landmarks → signatures).
The stored attempt is a window as decoded. A **true replay** sends the same window again: JPEG q70; rescaled
0.75x then q70; and both with the 15 fps grid shifted by 33 ms (another subsampling of the same video, which
on a 30 fps clip shares no frame with the stored one). A **genuine retry** is another window of the same clip
that does not overlap the stored one (same person, room, light and camera — harder than a retry on another
day), sent as JPEG q70. The statistic is the share of the new answer's frames matched: for the old check,
frames within 6 bits of any stored 64-bit whole-frame pHash; for the face signature,
``verification.liveness.replay_fraction`` (one common time offset). Both refuse at 0.5. Also the two
reported cases: (a) blink video 10.5-14 s after 4-10 s, (b) the whole blink video after one frame repeated.
"""

from __future__ import annotations

import argparse
import json
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from verification.image import downscale  # noqa: E402
from verification.liveness import (  # noqa: E402
    ReplayConfig,
    analyse_sequence,
    face_signatures,
    pack_signatures,
    replay_fraction,
    unpack_signatures,
)

WINDOW_MS, STEP_MS, GRID_MS = 3000, 1500, 1000 / 15
OLD_BITS, THRESHOLD = 6, 0.5
REPLAYS = (("q70", 0), ("0.75x q70", 0), ("q70", 33), ("0.75x q70", 33))


def old_phash(rgb: np.ndarray) -> int:
    """The whole-frame hash used before migration 0009: 8x8 lowest DCT terms of a 32x32 grey frame vs their median."""
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small.astype(np.float32))[:8, :8].flatten()
    median = float(np.median(low[1:]))
    return sum(1 << (63 - k) for k, value in enumerate(low) if value > median)


def old_fraction(new: list[int], old: list[int]) -> float:
    """Share of new frames within OLD_BITS of any stored hash (the old rule refused at 0.5)."""
    if not new or not old:
        return 0.0
    return sum(1 for h in new if min((h ^ o).bit_count() for o in old) <= OLD_BITS) / len(new)


@dataclass
class Answer:
    """One analysed answer: capture times from its first frame, face signatures, whole-frame hashes."""

    times: list[int]
    signatures: list[np.ndarray | None]
    hashes: list[int]
    signature_s: float = 0.0  # time spent on the signatures alone

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """As the database gives it back (int8 records)."""
        return unpack_signatures(pack_signatures(self.signatures, self.times))

    def probe(self) -> tuple[np.ndarray, list[int]]:
        kept = [(s, t) for s, t in zip(self.signatures, self.times, strict=True) if s is not None]
        return np.array([s for s, _ in kept]).reshape(-1, len(kept[0][0]) if kept else 1), [t for _, t in kept]


def load_clip(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """Every frame (RGB, long side ≤ 960 as the decoder keeps it) with its time in ms."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames: list[np.ndarray] = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        small, _ = downscale(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 960)
        frames.append(np.ascontiguousarray(small))
    capture.release()
    return frames, [round(i * 1000 / fps) for i in range(len(frames))]


def grid(times: list[int], start: int, length: int, offset: int) -> list[int]:
    """Indices kept by the decoder's 15 fps grid over [start, start + length), the grid shifted by offset ms."""
    out: list[int] = []
    due = start + offset
    for i, t in enumerate(times):
        if start <= t < start + length and t >= due - 0.1 * GRID_MS:
            out.append(i)
            due = max(due + GRID_MS, t + 0.5 * GRID_MS)
    return out


def transform(rgb: np.ndarray, kind: str) -> np.ndarray:
    """The frame as the replay sends it."""
    if kind == "as decoded":
        return rgb
    if kind.startswith("0.75x"):
        rgb = cv2.resize(rgb, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))


def analyse(frames: list[np.ndarray], times: list[int], indices: list[int], kind: str) -> Answer:
    """The answer made of these frames: liveness landmarks, then signatures and old hashes."""
    sent = [transform(frames[i], kind) for i in indices]
    rebased = [times[i] - times[indices[0]] for i in indices]
    result = analyse_sequence(sent, rebased, ["blink"])
    landmarks = result.landmarks or [None] * len(sent)
    started = time.process_time()
    signatures = face_signatures(sent, landmarks)
    spent = time.process_time() - started
    return Answer(rebased, signatures, [old_phash(f) for f in sent], spent)


def compare(new: Answer, old: Answer, config: ReplayConfig) -> tuple[float, float, float]:
    """(old-hash fraction, face-signature fraction, seconds the signature comparison took)."""
    old_ms, old_vectors = old.stored()
    vectors, ms = new.probe()
    started = time.process_time()
    fraction = replay_fraction(vectors, ms, old_vectors, old_ms, config=config)
    return old_fraction(new.hashes, old.hashes), fraction, time.process_time() - started


def clip_cases(path: Path, config: ReplayConfig) -> dict[str, Any]:
    """Replay and genuine-retry statistics of one clip."""
    frames, times = load_clip(path)
    starts = list(range(0, times[-1] - WINDOW_MS + 1, STEP_MS))
    stored = {s: analyse(frames, times, grid(times, s, WINDOW_MS, 0), "as decoded") for s in starts}
    sent = {
        (s, kind, off): analyse(frames, times, grid(times, s, WINDOW_MS, off), kind)
        for s in starts
        for kind, off in REPLAYS
    }
    replays = [(f"{kind} +{off} ms", *compare(sent[(s, kind, off)], stored[s], config)) for s, kind, off in sent]
    genuine = [
        ("retry", *compare(sent[(s2, "q70", 0)], stored[s], config))
        for s in starts
        for s2 in starts
        if abs(s2 - s) >= WINDOW_MS
    ]
    answers = list(stored.values()) + list(sent.values())
    per_frame = sum(a.signature_s for a in answers) / max(1, sum(len(a.times) for a in answers))
    return {"clip": path.name, "replays": replays, "genuine": genuine, "signature_ms_per_frame": 1000 * per_frame}


def reported_cases(path: Path, config: ReplayConfig) -> dict[str, tuple[float, float]]:
    """(a) blink video 10.5-14 s after 4-10 s; (b) the whole video after one of its frames repeated."""
    frames, times = load_clip(path)
    first = analyse(frames, times, grid(times, 4000, 6000, 0), "q70")
    second = analyse(frames, times, grid(times, 10500, 3500, 0), "q70")
    whole = analyse(frames, times, grid(times, 0, times[-1] + 1, 0), "as decoded")
    still_idx = grid(times, 0, WINDOW_MS, 0)
    repeated = [frames[still_idx[0]]] * len(still_idx)
    still = analyse(repeated, [times[i] for i in still_idx], list(range(len(still_idx))), "q70")
    return {
        "(a) 10.5-14 s after 4-10 s": compare(second, first, config)[:2],
        "(b) whole video after one repeated frame": compare(whole, still, config)[:2],
    }


def _summary(rows: list[tuple[str, float, float, float]], column: int, replay: bool) -> str:
    values = [r[column] for r in rows]
    wrong = sum(1 for v in values if (v < THRESHOLD if replay else v >= THRESHOLD))
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.2f} / {mid:.2f} / {high:.2f}  {'missed' if replay else 'false'} {wrong}/{len(values)}"


def report(clips: list[dict[str, Any]], reported: dict[str, tuple[float, float]]) -> None:
    """Print the table docs/liveness.md shows."""
    print("fraction of frames matched: min / median / max, and errors at 0.5")
    print(f"{'clip':34s} {'class':8s} {'old whole-frame pHash':32s} face signature")
    for clip in clips:
        for name, rows, replay in (("replay", clip["replays"], True), ("genuine", clip["genuine"], False)):
            print(f"{clip['clip']:34s} {name:8s} {_summary(rows, 1, replay):32s} {_summary(rows, 2, replay)}")
    all_replays = [r for c in clips for r in c["replays"]]
    all_genuine = [r for c in clips for r in c["genuine"]]
    print(f"{'all':34s} {'replay':8s} {_summary(all_replays, 1, True):32s} {_summary(all_replays, 2, True)}")
    print(f"{'all':34s} {'genuine':8s} {_summary(all_genuine, 1, False):32s} {_summary(all_genuine, 2, False)}")
    kinds = sorted({r[0] for r in all_replays})
    for kind in kinds:
        rows = [r for r in all_replays if r[0] == kind]
        print(f"  replay {kind:20s} face signature {_summary(rows, 2, True)}")
    for name, (old, new) in reported.items():
        print(f"{name:44s} old {old:.2f}  face signature {new:.2f}")
    ms = [c["signature_ms_per_frame"] for c in clips]
    compare_ms = [1000 * r[3] for r in all_replays + all_genuine]
    print(
        f"cost: signature {statistics.mean(ms):.2f} ms per frame; comparison with one stored 3 s attempt "
        f"median {statistics.median(compare_ms):.2f} ms, max {max(compare_ms):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_faces = os.environ.get("PENSION_CERT_TEST_FACES", str(Path(__file__).resolve().parents[2] / "shared/faces"))
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    config = ReplayConfig()
    blink = args.faces / "video/blink/blink_detector_video.mp4"
    paths = [blink, *sorted((args.faces / "video/actions").glob("*.mp4"))]
    clips = [clip_cases(p, config) for p in paths]
    reported = reported_cases(blink, config)
    report(clips, reported)
    if args.json is not None:
        args.json.write_text(json.dumps({"clips": clips, "reported": reported}, indent=1))


if __name__ == "__main__":
    main()
