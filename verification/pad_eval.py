"""Anti-spoofing cases of ``pension-cert eval-liveness`` read straight from the shared faces folder.

Spoof stills (printed photo, photo of a screen) and the real capture go through the service's photo check
(dlib ``analyse_face``, quality gates, then MiniFASNet on YuNet's box: ``verification.pad.photo_evidence``);
the screen replay of ``head_turns_real.mp4`` goes through the app's answer path (liveness analysis, then the
median P(real) of its evidence frames: ``verification.pad.frame_evidence``). A presentation is accepted only
when no step refuses it; ``pad_refuses`` says whether anti-spoofing alone refuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import analyse_face
from verification.image import decode_image
from verification.liveness import LivenessConfig, analyse_sequence
from verification.pad import frame_evidence, photo_evidence
from verification.video import VideoLimits, decode_video_file

PHOTO_CLASSES = {
    "print": ("spoof/print", True),
    "screen_photo": ("spoof/replay", True),
    "real_photo": ("spoof/real", False),
}
REPLAY_VIDEO = "spoof/replay_video/head_turns_screen_replay.mp4"
# Windows of the replay (ms, on the 15 fps grid) around the replayed turns, read from the per-frame yaw of the
# replay itself: the person turns to their left 4.8-8.4 s and to their right 11.8-12.6 s, frontal around both.
REPLAY_CASES: list[tuple[list[str], int, int]] = [
    (["turn_left"], 3400, 9600),
    (["turn_right"], 11000, 14000),
    (["turn_left", "turn_right"], 3400, 14000),
]
REPLAY_LIMITS = VideoLimits(target_fps=15, max_duration_ms=30_000, max_decoded_frames=2_000)  # the file is 21.2 s


def photo_case(path: Path, *, kind: str, attack: bool, pad_threshold: float) -> dict[str, Any]:
    """One still through the photo check, in the service's order: acquisition, quality gates, anti-spoofing."""
    config = VerificationConfig()
    out: dict[str, Any] = {"case": str(path), "kind": kind, "attack": attack, "pad_real": None}
    try:
        rgb = decode_image(path.read_bytes(), config=config)
        face = analyse_face(rgb, config=config)
    except VerificationError as exc:
        return out | {"accepted": False, "refused_by": exc.code, "pad_refuses": None}
    _, pad_real = photo_evidence(rgb, face.box, sface=False, pad=True)
    assert pad_real is not None
    refused_by = (
        "quality:" + ",".join(face.quality.reasons)
        if face.quality.reasons
        else ("presentation_attack" if pad_real < pad_threshold else None)
    )
    return (
        out
        | {"pad_real": pad_real, "accepted": refused_by is None, "refused_by": refused_by}
        | {"pad_refuses": pad_real < pad_threshold}
    )


def replay_case(
    frames: list[Any], times: list[int], actions: list[str], *, name: str, pad_threshold: float
) -> dict[str, Any]:
    """One window of the screen replay answered as the app's liveness answer (liveness, then anti-spoofing)."""
    result = analyse_sequence(frames, times, actions, config=LivenessConfig(), models=("sface",))
    found = {e.index: (e.detected, e.vector) for e in result.sface_faces}
    _, pad_real = frame_evidence(frames, result.encoded_frame_indices, sface=False, pad=True, found=found)
    pad_refuses = pad_real is not None and pad_real < pad_threshold
    refused_by = (
        "liveness:" + ",".join(result.reasons)
        if not result.passed
        else ("presentation_attack" if pad_refuses else None)
    )
    return {
        "case": name,
        "kind": "screen_replay_video",
        "attack": True,
        "actions": actions,
        "liveness_passed": result.passed,
        "evidence_frames": len(result.encoded_frame_indices),
        "pad_real": pad_real,
        "pad_refuses": pad_refuses,
        "accepted": refused_by is None,
        "refused_by": refused_by,
    }


def run_pad_eval(faces_dir: Path | str, *, pad_threshold: float) -> dict[str, Any]:
    """Every spoof still, the real capture and the replay windows; APCER per attack kind, BPCER of the real photo."""
    faces_dir = Path(faces_dir)
    cases = []
    for kind, (folder, attack) in PHOTO_CLASSES.items():
        for path in sorted((faces_dir / folder).glob("*.jpg")):
            cases.append(photo_case(path, kind=kind, attack=attack, pad_threshold=pad_threshold))
    video = decode_video_file(str(faces_dir / REPLAY_VIDEO), limits=REPLAY_LIMITS)
    for actions, start, end in REPLAY_CASES:
        keep = [i for i, t in enumerate(video.timestamps_ms) if start <= t < end]
        frames, times = [video.frames[i] for i in keep], [video.timestamps_ms[i] for i in keep]
        name = f"{REPLAY_VIDEO} {start}-{end} ms {'+'.join(actions)}"
        cases.append(replay_case(frames, times, actions, name=name, pad_threshold=pad_threshold))
    return {"pad_threshold": pad_threshold, **rates_by_kind(cases), "cases": cases}


def rates_by_kind(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """APCER (attacks accepted) and BPCER (bona fide refused) per kind, with PAD's own share of refusals."""
    out: dict[str, Any] = {"apcer": {}, "bpcer": {}, "pad_refused": {}, "cases_per_kind": {}}
    for kind in sorted({c["kind"] for c in cases}):
        of_kind = [c for c in cases if c["kind"] == kind]
        attack = of_kind[0]["attack"]
        rate = sum(c["accepted"] == attack for c in of_kind) / len(of_kind)
        out["apcer" if attack else "bpcer"][kind] = rate
        out["pad_refused"][kind] = sum(bool(c["pad_refuses"]) for c in of_kind) / len(of_kind)
        out["cases_per_kind"][kind] = len(of_kind)
    return out


def _set_rows(liveness: dict[str, Any]) -> list[tuple[str, int, str, float, list[float]]]:
    """(class, cases, rate name, rate, P(real) values) of the case set's genuine cases and attack kinds."""
    rows = []
    for kind in ["genuine", *sorted(liveness["apcer"])]:
        of_kind = [c for c in liveness["cases"] if c["kind"] == kind]
        genuine = kind == "genuine"
        wrong = sum(c["accepted"] != genuine for c in of_kind)
        scores = [c["pad_real"] for c in of_kind if c.get("pad_real") is not None]
        rows.append(
            (f"set {kind}", len(of_kind), "BPCER" if genuine else "APCER", wrong / max(1, len(of_kind)), scores)
        )
    return rows


def _fmt(scores: list[float], threshold: float) -> str:
    if not scores:
        return "P(real) n/a"
    below = sum(s < threshold for s in scores)
    return f"P(real) min {min(scores):.3g} max {max(scores):.3g}, {below}/{len(scores)} below {threshold}"


def format_pad_report(spoof: dict[str, Any] | None, liveness: dict[str, Any], threshold: float) -> str:
    """The anti-spoofing table: every class with its rate after all steps and what PAD scored."""
    lines = ["", f"Anti-spoofing (MiniFASNet, P(real) < {threshold} refused) in the shipped decision", ""]
    lines.append(f"{'class':<28}{'cases':>6}  {'rate':<14}  anti-spoofing")
    for name, n, rate_name, rate, scores in _set_rows(liveness):
        lines.append(f"{name:<28}{n:>6}  {rate_name} {100 * rate:5.1f}%   {_fmt(scores, threshold)}")
    if spoof is None:
        lines.append("(spoof stills and the screen-replay video: pass --faces ../shared/faces)")
        return "\n".join(lines)
    for kind, n in spoof["cases_per_kind"].items():
        of_kind = [c for c in spoof["cases"] if c["kind"] == kind]
        rate_name = "APCER" if of_kind[0]["attack"] else "BPCER"
        rate = spoof["apcer" if rate_name == "APCER" else "bpcer"][kind]
        scores = [c["pad_real"] for c in of_kind if c["pad_real"] is not None]
        lines.append(f"{kind:<28}{n:>6}  {rate_name} {100 * rate:5.1f}%   {_fmt(scores, threshold)}")
    lines.append("")
    for case in spoof["cases"]:
        verdict = "accepted" if case["accepted"] else f"refused ({case['refused_by']})"
        pad = "n/a" if case["pad_real"] is None else f"{case['pad_real']:.3g}"
        extra = f", liveness {'passed' if case['liveness_passed'] else 'failed'}" if "liveness_passed" in case else ""
        lines.append(f"  {case['kind']:<20} {Path(case['case']).name:<60} P(real) {pad}{extra}: {verdict}")
    return "\n".join(lines)
