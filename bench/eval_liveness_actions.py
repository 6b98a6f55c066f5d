"""BPCER per action on the labelled real action cases (bench/make_liveness_set.py --actions-only).

    .venv/bin/python bench/eval_liveness_actions.py DIR [--json]

genuine/ is evaluated as eval-liveness does; mirrored/ (the same turns flipped left-right) both as sent
and with ``LivenessConfig(mirrored=True)``; pitch/ (look up / down, not a service action) reports the
pitch range seen. Yaw: the peak of every turn case against ``TURN_PEAK_DEG``, the largest |yaw| of every
mouth case, and no_turn/ (3 s windows without a deliberate turn) counted as turns in either direction.
attack/wink/ (synthetic winks from the blink video) counts winks accepted as blinks.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.make_liveness_set import TURN_PEAK_DEG
from verification import face as face_mod
from verification.config import VerificationConfig
from verification.liveness import LivenessConfig, analyse_sequence, detect_track_faces, turn_events
from verification.liveness_eval import Case, evaluate_case, load_case_frames
from verification.pose import head_pose


def _cases(directory: Path, folder: str) -> list[Case]:
    out = []
    for challenge in sorted((directory / folder).glob("*/challenge.json")):
        spec = json.loads(challenge.read_text())
        out.append(Case(challenge.parent, None, list(spec["actions"]), None))
    return out


def _per_action(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in outcomes:
        by["+".join(o["actions"])].append(o)
    return {
        action: {
            "cases": len(rows),
            "rejected": sum(not r["accepted"] for r in rows),
            "bpcer": sum(not r["accepted"] for r in rows) / len(rows),
        }
        for action, rows in sorted(by.items())
    }


def _pitch_range(case: Case, config: LivenessConfig) -> dict[str, Any]:
    frames, _ = load_case_frames(case.path)
    pitches = []
    missing = 0
    for frame in frames:
        boxes = detect_track_faces(frame, config)
        if len(boxes) != 1:
            missing += 1
            continue
        pitches.append(head_pose(face_mod.landmarks(frame, boxes[0]), frame.shape).pitch)
    return {
        "case": case.path.name,
        "frames": len(frames),
        "no_face_frames": missing,
        "pitch_min": round(float(np.min(pitches)), 1) if pitches else None,
        "pitch_max": round(float(np.max(pitches)), 1) if pitches else None,
    }


def _yaw_row(case: Case, config: LivenessConfig) -> dict[str, Any]:
    """Peak yaw of a turn case (against its label) or the largest |yaw| of any other case."""
    frames, times = load_case_frames(case.path)
    yaw = [y for y in analyse_sequence(frames, times, case.actions, config=config).yaw if y is not None]
    spec = json.loads((case.path / "challenge.json").read_text())
    start = int(case.path.name.rsplit("_", 1)[1])
    action = case.actions[0]
    peak = max(yaw) if action == "turn_left" else min(yaw) if action == "turn_right" else max(yaw, key=abs)
    return {
        "case": case.path.name,
        "action": action,
        "peak_yaw": round(float(peak), 1),
        "label": TURN_PEAK_DEG.get((spec.get("source", ""), start)),
    }


def _no_turn(directory: Path, config: LivenessConfig) -> dict[str, Any]:
    """no_turn/ windows in which a turn either way would be counted (the yaw trace's excursions)."""
    counted, largest = [], 0.0
    cases = _cases(directory, "no_turn")
    for case in cases:
        frames, times = load_case_frames(case.path)
        yaw = np.array([y for y in analyse_sequence(frames, times, ["turn_left"], config=config).yaw if y is not None])
        largest = max(largest, float(np.abs(yaw).max()))
        for action in ("turn_left", "turn_right"):
            if turn_events(action, yaw, config):
                counted.append(f"{case.path.name}:{action}")
    return {"windows": len(cases), "counted_as_turn": counted, "largest_abs_yaw": round(largest, 1)}


def run(directory: Path) -> dict[str, Any]:
    """Outcomes of every genuine, mirrored, pitch, no_turn and wink case."""
    face_config = VerificationConfig()
    plain, mirrored = LivenessConfig(), LivenessConfig(mirrored=True)
    genuine_cases = _cases(directory, "genuine")
    genuine = [evaluate_case(c, config=plain, face_config=face_config) for c in genuine_cases]
    mirror_cases = _cases(directory, "mirrored")
    as_sent = [evaluate_case(c, config=plain, face_config=face_config) for c in mirror_cases]
    flagged = [evaluate_case(c, config=mirrored, face_config=face_config) for c in mirror_cases]
    winks = [evaluate_case(c, config=plain, face_config=face_config) for c in _cases(directory, "attack/wink")]
    return {
        "genuine": {"per_action": _per_action(genuine), "cases": genuine},
        "mirrored_as_sent": {"per_action": _per_action(as_sent), "cases": as_sent},
        "mirrored_flagged": {"per_action": _per_action(flagged), "cases": flagged},
        "pitch": [_pitch_range(c, plain) for c in _cases(directory, "pitch")],
        "yaw": [_yaw_row(c, plain) for c in genuine_cases if c.actions[0] != "blink"],
        "no_turn": _no_turn(directory, plain),
        "wink": {"cases": len(winks), "accepted_as_blink": [Path(w["case"]).name for w in winks if w["accepted"]]},
    }


def yaw_trace(case_dir: Path, *, mirrored: bool = False) -> list[tuple[int, float | None]]:
    """Per-frame (ms, yaw) of one case as the liveness analysis reads it."""
    frames, times = load_case_frames(case_dir)
    result = analyse_sequence(frames, times, ["turn_left"], config=LivenessConfig(mirrored=mirrored))
    return list(zip(times, result.yaw, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.directory)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for part in ("genuine", "mirrored_as_sent", "mirrored_flagged"):
        print(part)
        for action, row in result[part]["per_action"].items():
            print(f"  {action:<12} {row['rejected']}/{row['cases']} rejected  BPCER {100 * row['bpcer']:.0f}%")
        for o in result[part]["cases"]:
            if not o["accepted"]:
                print(f"    {Path(o['case']).name:<46} {', '.join(o['reasons'])}")
    print("pitch")
    for row in result["pitch"]:
        print(f"  {row}")
    print("yaw (peak of each turn against its label; largest |yaw| of the mouth cases)")
    for row in result["yaw"]:
        print(f"  {row['case']:<46} {row['peak_yaw']:6.1f}  label {row['label']}")
    nt = result["no_turn"]
    print(
        f"no_turn: {len(nt['counted_as_turn'])} turns counted in {nt['windows']} windows x 2 directions, "
        f"largest |yaw| {nt['largest_abs_yaw']}  {nt['counted_as_turn']}"
    )
    wink = result["wink"]
    print(f"wink: {len(wink['accepted_as_blink'])}/{wink['cases']} accepted as a blink  {wink['accepted_as_blink']}")


if __name__ == "__main__":
    main()
