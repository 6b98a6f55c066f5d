"""Presentation-attack evaluation of the liveness analysis (ISO/IEC 30107-3 BPCER / APCER).

Directory layout: ``genuine/<case>/`` and ``attack/<kind>/<case>/``; a case is ``video.mp4`` or
``frames/<ms>.jpg`` plus ``challenge.json`` (``{"actions": [...]}``, optionally ``"replay_of":
"genuine/<case>"``) and optionally ``enrol.jpg`` for the 1:1 match. ``bench/make_liveness_set.py``
builds one from the shared face data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from verification import face, matching
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.liveness import (
    LivenessConfig,
    LivenessResult,
    ReplayConfig,
    analyse_sequence,
    face_signatures,
    replay_fraction,
)
from verification.pad import frame_evidence
from verification.video import VideoLimits, decode_video_file

SHIPPED_MODELS = ("sface", "dlib")  # the service with both models active: SFace identity check, dlib vectors too


@dataclass(frozen=True, slots=True)
class Case:
    """One presentation: genuine (kind None) or an attack of the given kind."""

    path: Path
    kind: str | None
    actions: list[str]
    replay_of: Path | None


def list_cases(directory: Path) -> list[Case]:
    """All cases under genuine/ and attack/<kind>/, sorted by path."""
    cases: list[Case] = []
    for challenge in sorted(directory.glob("genuine/*/challenge.json")) + sorted(
        directory.glob("attack/*/*/challenge.json")
    ):
        spec = json.loads(challenge.read_text())
        case_dir = challenge.parent
        kind = None if case_dir.parent.name == "genuine" else case_dir.parent.name
        replay_of = directory / spec["replay_of"] if spec.get("replay_of") else None
        cases.append(Case(case_dir, kind, list(spec["actions"]), replay_of))
    return cases


def load_case_frames(case_dir: Path, limits: VideoLimits | None = None) -> tuple[list[np.ndarray], list[int]]:
    """Frames (RGB) and capture times in ms of a case: video.mp4 or frames/<ms>.jpg."""
    video = case_dir / "video.mp4"
    if video.exists():
        decoded = decode_video_file(str(video), limits=limits)
        return decoded.frames, decoded.timestamps_ms
    frames, times = [], []
    for path in sorted((case_dir / "frames").glob("*.jpg"), key=lambda p: int(p.stem)):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"unreadable frame {path}")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        times.append(int(path.stem))
    return frames, times


def _enrol_encoding(case_dir: Path, face_config: VerificationConfig) -> np.ndarray | None:
    path = case_dir / "enrol.jpg"
    if not path.exists():
        return None
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    try:
        analysed = face.analyse_face(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), config=face_config)
    except VerificationError:
        return None
    return analysed.encoding


def _signatures(frames: list[np.ndarray], result: LivenessResult) -> np.ndarray:
    found = [s for s in face_signatures(frames, result.landmarks) if s is not None] if result.landmarks else []
    return np.array(found).reshape(len(found), -1)


def _replays(
    frames: list[np.ndarray], times: list[int], result: LivenessResult, earlier: Path, config: LivenessConfig
) -> bool:
    """The API's replay check (docs/liveness.md "Replay check") against the earlier case's frames."""
    previous, previous_times = load_case_frames(earlier)
    before = analyse_sequence(previous, previous_times, ["blink"], config=config)
    new_ms = [t for t, p in zip(times, result.landmarks, strict=False) if p is not None]
    old_ms = [t for t, p in zip(previous_times, before.landmarks, strict=False) if p is not None]
    replay = ReplayConfig()
    fraction = replay_fraction(
        _signatures(frames, result), new_ms, _signatures(previous, before), old_ms, config=replay
    )
    return fraction >= replay.min_fraction


def evaluate_case(
    case: Case,
    *,
    config: LivenessConfig,
    face_config: VerificationConfig,
    pad_threshold: float | None = None,
    models: tuple[str, ...] = SHIPPED_MODELS,
) -> dict[str, Any]:
    """Run liveness (+ replay check, + anti-spoofing when pad_threshold is set, + 1:1 match when enrol.jpg exists).

    ``models``: as the service asks (SFace identity check; dlib for the match below); ("dlib",) is the old check.
    """
    frames, times = load_case_frames(case.path)
    result = analyse_sequence(frames, times, case.actions, config=config, models=models)
    reasons = list(result.reasons)
    pad_real = None
    if pad_threshold is not None:  # the app's step: median P(real) of the evidence frames (verification.pad)
        found = {e.index: (e.detected, e.vector) for e in result.sface_faces}
        _, pad_real = frame_evidence(frames, result.encoded_frame_indices, sface=False, pad=True, found=found)
        if pad_real is not None and pad_real < pad_threshold:
            reasons.append("presentation_attack")
    if case.replay_of is not None and _replays(frames, times, result, case.replay_of, config):
        reasons.append("replay")
    match: str | None = None
    enrol = _enrol_encoding(case.path, face_config)
    if (case.path / "enrol.jpg").exists() and enrol is None:
        match = "enrol_unusable"
    elif enrol is not None and result.track_encodings:
        decision = matching.verify(result.track_encodings, [enrol], config=face_config)
        match = decision.decision
        if decision.decision != "match":
            reasons.append(f"match_{decision.decision}")
    accepted = not reasons and match in (None, "match")
    return {
        "case": str(case.path),
        "kind": case.kind or "genuine",
        "actions": case.actions,
        "accepted": accepted,
        "reasons": reasons,
        "match": match,
        "pad_real": pad_real,
        "identity_model": result.identity_model,
        "track_distance": result.max_track_distance,
        "frames": len(frames),
        "steps": [
            {"action": s.action, "detected": s.detected, "frame": s.peak_index, "ms": s.peak_ms} for s in result.steps
        ],
    }


def run_liveness_eval(
    directory: Path | str, *, config: LivenessConfig | None = None, pad_threshold: float | None = None
) -> dict[str, Any]:
    """BPCER over genuine cases and APCER per attack kind, with every case's outcome (pad_threshold: with PAD)."""
    directory = Path(directory)
    config = config or LivenessConfig()
    face_config = VerificationConfig()
    cases = list_cases(directory)
    if not cases:
        raise ValueError(f"no cases with challenge.json under {directory}")
    outcomes = [evaluate_case(c, config=config, face_config=face_config, pad_threshold=pad_threshold) for c in cases]
    genuine = [o for o in outcomes if o["kind"] == "genuine"]
    kinds = sorted({o["kind"] for o in outcomes} - {"genuine"})
    apcer: dict[str, float] = {}
    attack_cases: dict[str, int] = {}
    for kind in kinds:
        of_kind = [o for o in outcomes if o["kind"] == kind]
        attack_cases[kind] = len(of_kind)
        apcer[kind] = sum(o["accepted"] for o in of_kind) / len(of_kind)
    with_match = sum(o["match"] is not None for o in outcomes)
    return {
        "bpcer": (sum(not o["accepted"] for o in genuine) / len(genuine)) if genuine else None,
        "genuine_cases": len(genuine),
        "apcer": apcer,
        "attack_cases": attack_cases,
        "match_included_cases": with_match,
        "match_note": "verification.matching.verify, raw thresholds, no cohort, on cases with enrol.jpg",
        "cases": outcomes,
    }


def format_liveness_report(result: dict[str, Any]) -> str:
    """Plain-text table of BPCER / APCER and the reasons of every wrong decision."""
    lines = ["Liveness evaluation (ISO/IEC 30107-3)", ""]
    bpcer = result["bpcer"]
    lines.append(f"{'class':<16}{'cases':>6}  rate")
    lines.append(
        f"{'genuine':<16}{result['genuine_cases']:>6}  BPCER " + ("n/a" if bpcer is None else f"{100 * bpcer:.1f}%")
    )
    for kind, rate in result["apcer"].items():
        lines.append(f"{kind:<16}{result['attack_cases'][kind]:>6}  APCER {100 * rate:.1f}%")
    lines.append("")
    lines.append(f"1:1 match on {result['match_included_cases']} cases ({result['match_note']}).")
    wrong = [o for o in result["cases"] if (o["kind"] == "genuine") != o["accepted"]]
    if wrong:
        lines.append("")
        lines.append("Wrong decisions:")
        for o in wrong:
            verdict = "accepted" if o["accepted"] else "rejected"
            lines.append(f"  {o['kind']:<14} {Path(o['case']).name:<40} {verdict}: {', '.join(o['reasons']) or '-'}")
    return "\n".join(lines)
