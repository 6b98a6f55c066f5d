"""Build the liveness evaluation set from /work/shared/faces into a directory (never committed).

    .venv/bin/python bench/make_liveness_set.py var/liveness_eval [--faces ../shared/faces] [--actions-only]

Layout read by ``verification.liveness_eval``: ``genuine/<case>/`` and ``attack/<kind>/<case>/``, each
with ``frames/<ms>.jpg`` (or ``video.mp4``), ``challenge.json`` and optionally ``enrol.jpg``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from verification import face
from verification.config import VerificationConfig
from verification.landmarks import LEFT_EYE, RIGHT_EYE, eye_aspect_ratio
from verification.video import VideoLimits, decode_video_file

BLINK_VIDEO = "video/blink/blink_detector_video.mp4"
HAMILTON = "video/other/short_hamilton_clip.mp4"
# Eyes-closed spells (EAR < 0.25) in the blink video, in ms, read from the per-frame EAR trace at 24 fps
# (docs/liveness.md): six short blinks and two long closed-eye spells.
CLOSED_SPELLS_MS = [
    (430, 560),
    (1690, 1820),
    (3450, 3570),
    (4660, 4750),
    (5750, 8140),
    (9220, 9350),
    (10020, 10110),
    (10980, 13750),
]
# Genuine actions in the real recordings of video/actions/, labelled by looking at contact sheets of
# the frames (every 33-200 ms, docs/liveness_actions_measured.md). None of these files is mirrored.
# (file, action, action_start_ms, action_end_ms, case_start_ms, case_end_ms, note); the case is the
# window [case_start, case_end) around the action, resting (frontal, eyes open, mouth closed) at both ends.
# Directions are the person's own: turn_left = the nose moves to the image's right in these files.
# look_up / look_down are not service actions: they go to pitch/ (not read by eval-liveness).
ACTION_LABELS: list[tuple[str, str, int, int, int, int, str]] = [
    ("head_turns_real.mp4", "turn_left", 2000, 5800, 1000, 6600, "portrait 368x656; peak 3900-5400"),
    ("head_turns_real.mp4", "turn_right", 7300, 10700, 6400, 11600, "peak 9000-10400; tilted, eyes far right"),
    ("head_turns_real.mp4", "look_down", 11600, 13900, 11000, 14400, "peak 12600-13400 ~40 deg, face seen from above"),
    ("head_turns_real.mp4", "look_up", 14400, 16300, 14000, 17000, "peak 14800-15600 ~30-35 deg"),
    ("east_asian_man_turns_mouth.mp4", "turn_left", 1100, 2100, 700, 2600, "mild, laughing, tilted; glasses"),
    ("east_asian_man_turns_mouth.mp4", "open_mouth", 4640, 5300, 3900, 5900, "wide O; talking before it"),
    ("man_wide_mouth.mp4", "open_mouth", 2150, 3200, 1400, 3700, "O shape; a blink at 3170"),
    ("man_wide_mouth.mp4", "open_mouth", 3850, 5150, 3400, 5900, "wide, teeth showing"),
    ("east_asian_man_mouth_eyes.mp4", "blink", 367, 567, 0, 1100, "glasses"),
    ("east_asian_man_mouth_eyes.mp4", "blink", 1233, 1500, 800, 2100, "glasses, slow blink"),
    ("east_asian_man_mouth_eyes.mp4", "blink", 16200, 16300, 15700, 16500, "glasses, short"),
    ("east_asian_man_mouth_eyes.mp4", "blink", 18500, 18700, 18000, 19300, "glasses; head dips after"),
    ("east_asian_woman_blinks.mp4", "blink", 533, 633, 0, 1300, "eyes closed 2-3 frames at 30 fps"),
    ("east_asian_woman_blinks.mp4", "blink", 1733, 1767, 1100, 2300, "closed on one 30 fps frame only"),
    ("east_asian_woman_blinks.mp4", "blink", 9467, 9500, 9000, 10000, "closed on two 30 fps frames"),
    ("east_asian_woman_blinks.mp4", "blink", 11567, 11600, 11100, 12000, "closed on one 30 fps frame only"),
    ("east_asian_woman_blinks.mp4", "blink", 12367, 12400, 11900, 12800, "closed on one 30 fps frame only"),
]
# Peak yaw of each labelled turn (deg, + = the person's left), keyed by (file, case start). First judged by
# eye at 45 / -40 / 25; re-judged (docs/liveness_actions_measured.md) against the eye-span
# foreshortening, which needs no head model (cos yaw = eye span / face height against the same ratio
# when frontal): 53 / -25 on the peak frames, and the frames agree (far eye almost hidden behind the nose
# on the left turn, fully visible on the right one). The laughing turn moves the mouth, so it has only
# the eye judgement (15-20 deg).
TURN_PEAK_DEG: dict[tuple[str, int], float] = {
    ("head_turns_real.mp4", 1000): 50.0,
    ("head_turns_real.mp4", 6400): -27.0,
    ("east_asian_man_turns_mouth.mp4", 700): 18.0,
}
# Stretches with no deliberate head turn (contact sheets): blinks, faces pulled, mouth opened, talking,
# looking up and down. Head turns measured on them are what a turn challenge must not count.
NO_TURN_SPANS: list[tuple[str, int, int, str]] = [
    ("east_asian_man_mouth_eyes.mp4", 0, 19700, "blinks, cheeks puffed, lips pushed sideways, small head moves"),
    ("east_asian_woman_blinks.mp4", 0, 18000, "blinks and squints"),
    ("man_wide_mouth.mp4", 0, 7200, "mouth opened twice"),
    ("east_asian_man_turns_mouth.mp4", 2600, 7400, "talking, mouth opened, looks up"),
    ("head_turns_real.mp4", 11000, 20700, "looks down and up, then rests"),
]
NO_TURN_STEP_MS = 1000
SERVICE_ACTIONS = {"blink", "open_mouth", "turn_left", "turn_right"}
MIRROR_OF = {"turn_left": "turn_right", "turn_right": "turn_left"}
WINDOW_MS = 3000
PHONE_FPS = 15.0
CANVAS = (640, 480)  # height, width: a portrait phone frame


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def load_rgb(path: Path) -> np.ndarray:
    """Load a photo upright (EXIF rotation applied) as RGB."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def write_case(
    case_dir: Path,
    frames: list[np.ndarray],
    times: list[int],
    challenge: dict[str, object],
    enrol: np.ndarray | None = None,
    as_video: bool = False,
) -> None:
    """Write one case: frames/<ms>.jpg (or video.mp4), challenge.json, enrol.jpg."""
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    if as_video:
        fps = 1000.0 * (len(times) - 1) / max(1, times[-1] - times[0])
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(case_dir / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        writer.release()
    else:
        (case_dir / "frames").mkdir()
        base = times[0]
        for frame, ms in zip(frames, times, strict=True):
            cv2.imwrite(
                str(case_dir / "frames" / f"{ms - base:06d}.jpg"),
                cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90],
            )
    (case_dir / "challenge.json").write_text(json.dumps(challenge) + "\n")
    if enrol is not None:
        cv2.imwrite(str(case_dir / "enrol.jpg"), cv2.cvtColor(enrol, cv2.COLOR_RGB2BGR))


def window(frames: list[np.ndarray], times: list[int], start: int, length: int) -> tuple[list[np.ndarray], list[int]]:
    """Frames with start <= t < start + length."""
    keep = [i for i, t in enumerate(times) if start <= t < start + length]
    return [frames[i] for i in keep], [times[i] for i in keep]


def has_blink(start: int, length: int, margin: int = 200) -> bool:
    """True when a whole eyes-closed spell lies inside the window, with open eyes on both sides."""
    return any(start + margin <= a and b <= start + length - margin for a, b in CLOSED_SPELLS_MS)


def action_case_name(label: tuple[str, str, int, int, int, int, str]) -> str:
    """Case folder name of one labelled action: <action>_<video stem>_<case start ms>."""
    video, action, _, _, start, _, _ = label
    return f"{action}_{Path(video).stem}_{start:05d}"


def action_video(faces: Path, video: str) -> tuple[list[np.ndarray], list[int]]:
    """One action recording on the service's 15 fps grid (limits raised: two files are 20-21 s)."""
    limits = VideoLimits(target_fps=PHONE_FPS, max_duration_ms=30_000, max_decoded_frames=2_000)
    decoded = decode_video_file(str(faces / "video/actions" / video), limits=limits)
    return decoded.frames, decoded.timestamps_ms


def build_actions(out: Path, faces: Path) -> dict[str, int]:
    """Genuine cases from ACTION_LABELS, plus the same turns mirrored (a selfie preview) under mirrored/."""
    counts: dict[str, int] = {}
    cache: dict[str, tuple[list[np.ndarray], list[int]]] = {}
    for label in ACTION_LABELS:
        video, action, _, _, start, end, note = label
        if video not in cache:
            cache[video] = action_video(faces, video)
        f, t = window(*cache[video], start, end - start)
        name = action_case_name(label)
        folder = "genuine" if action in SERVICE_ACTIONS else "pitch"
        spec = {"actions": [action], "source": video, "note": note}
        write_case(out / folder / name, f, t, spec)
        counts[folder] = counts.get(folder, 0) + 1
        if action in MIRROR_OF:
            # What a front camera's mirrored preview would send: the image flipped left-right. The person
            # still turned to their own left; the label stays the person's direction.
            flipped = [np.ascontiguousarray(x[:, ::-1]) for x in f]
            write_case(out / "mirrored" / name, flipped, t, spec)
            counts["mirrored"] = counts.get("mirrored", 0) + 1
    for video, start, end, note in NO_TURN_SPANS:
        if video not in cache:
            cache[video] = action_video(faces, video)
        for begin in range(start, end - WINDOW_MS + 1, NO_TURN_STEP_MS):
            f, t = window(*cache[video], begin, WINDOW_MS)
            spec = {"actions": ["turn_left"], "source": video, "note": note}
            write_case(out / "no_turn" / f"{Path(video).stem}_{begin:05d}", f, t, spec)
            counts["no_turn"] = counts.get("no_turn", 0) + 1
    counts["wink"] = build_winks(out, faces)
    return counts


def paste_eye(
    frame: np.ndarray, points: np.ndarray, source: np.ndarray, source_points: np.ndarray, eye: slice
) -> np.ndarray:
    """frame with one eye replaced by the same eye of source, moved onto its corners, blended in an ellipse."""
    src, dst = source_points[eye], points[eye]
    matrix, _ = cv2.estimateAffinePartial2D(src[[0, 3]].astype(np.float32), dst[[0, 3]].astype(np.float32))
    moved = cv2.warpAffine(source, matrix, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR)
    (x0, y0), (x1, y1) = dst.min(axis=0), dst.max(axis=0)
    width = float(x1 - x0)
    mask = np.zeros(frame.shape[:2], np.float32)
    centre = (round((x0 + x1) / 2), round((y0 + y1) / 2))
    cv2.ellipse(mask, centre, (round(0.9 * width), round(0.6 * width)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.15 * width)[..., None]
    return (moved * mask + frame * (1.0 - mask)).astype(np.uint8)


def synthetic_winks(frames: list[np.ndarray], eye: slice, config: VerificationConfig | None = None) -> list[np.ndarray]:
    """The frames with one eye kept open: wherever the eyes are not open, that eye comes from the last open frame.

    Open = mean EAR >= 0.95 x the recording's 90th percentile; replaced = below 0.9 x. The result looks
    like a real wink of the other eye (no wink exists in the data).
    """
    config = config or VerificationConfig(detect_max_side=320, choose_dominant_face=False)
    points = [face.landmarks(f, face.detect_faces(f, config=config)[0]) for f in frames]
    ear = np.array([eye_aspect_ratio(p) for p in points])
    baseline = float(np.percentile(ear, 90))
    out, last_open = [], None
    for k, frame in enumerate(frames):
        if ear[k] >= 0.95 * baseline:
            last_open = k
        if ear[k] < 0.9 * baseline and last_open is not None:
            out.append(paste_eye(frame, points[k], frames[last_open], points[last_open], eye))
        else:
            out.append(frame)
    return out


def build_winks(out: Path, faces: Path) -> int:
    """attack/wink/: every genuine blink window of the blink video with the right or the left eye kept open."""
    video = decode_video_file(str(faces / BLINK_VIDEO), limits=VideoLimits(target_fps=PHONE_FPS))
    count = 0
    for start in (s for s in range(0, 14_000 - WINDOW_MS, 500) if has_blink(s, WINDOW_MS)):
        f, t = window(video.frames, video.timestamps_ms, start, WINDOW_MS)
        for name, eye in (("right_eye_open", RIGHT_EYE), ("left_eye_open", LEFT_EYE)):
            write_case(out / "attack/wink" / f"{name}_{start:05d}", synthetic_winks(f, eye), t, {"actions": ["blink"]})
            count += 1
    return count


def hand_held(photo: np.ndarray, n: int, seed: int, *, face_width: int = 200) -> list[np.ndarray]:
    """A photo held in front of the camera: smooth random shift, scale, rotation, light and sensor noise."""
    rng = _rng(seed)
    boxes = face.detect_faces(photo, config=VerificationConfig())
    if boxes:
        top, right, bottom, left = boxes[0]
        centre = ((left + right) / 2.0, (top + bottom) / 2.0)
        scale = face_width / max(1, right - left)
    else:
        centre = (photo.shape[1] / 2.0, photo.shape[0] / 2.0)
        scale = CANVAS[1] * 0.8 / photo.shape[1]
    height, width = CANVAS
    out = []
    walk = np.zeros(5)
    for _ in range(n):
        walk = 0.8 * walk + rng.normal(0.0, [3.0, 3.0, 0.015, 0.8, 0.03])
        dx, dy, ds, angle, gain = walk
        matrix = cv2.getRotationMatrix2D(centre, float(angle), float(scale * (1.0 + ds)))
        matrix[0, 2] += width / 2.0 - centre[0] + dx
        matrix[1, 2] += height * 0.45 - centre[1] + dy
        frame = cv2.warpAffine(photo, matrix, (width, height), borderValue=(118, 112, 105))
        noisy = frame.astype(np.float32) * (1.0 + float(gain)) + rng.normal(0.0, 2.0, frame.shape)
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def phone_times(n: int, seed: int, fps: float = PHONE_FPS) -> list[int]:
    """Capture times with the jitter of a phone camera (about +-8 ms)."""
    rng = _rng(seed)
    step = 1000.0 / fps
    times = [round(i * step + rng.uniform(-8, 8)) for i in range(n)]
    times[0] = 0
    return times


def build(out: Path, faces: Path) -> dict[str, int]:
    """Write every case; returns the number of cases per folder."""
    counts: dict[str, int] = {}

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    video = decode_video_file(str(faces / BLINK_VIDEO), limits=VideoLimits(target_fps=PHONE_FPS))
    frames, times = video.frames, video.timestamps_ms
    # Enrolment stand-in: the man has no separate photo; a frontal open-eye frame far from the window.
    enrol_early, enrol_late = frames[times.index(min(times, key=lambda t: abs(t - 200)))], frames[-40]

    # Genuine: 3 s windows every 500 ms that contain a whole blink (windows overlap: not independent).
    genuine_windows = [s for s in range(0, 14_000 - WINDOW_MS, 500) if has_blink(s, WINDOW_MS)]
    for n, start in enumerate(genuine_windows):
        f, t = window(frames, times, start, WINDOW_MS)
        enrol = enrol_late if start < 6000 else enrol_early
        write_case(out / "genuine" / f"blink_{start:05d}", f, t, {"actions": ["blink"]}, enrol, as_video=n % 4 == 0)
        count("genuine")

    # still_photo: real photos held in front of the camera, for each kind of challenge.
    photo_sources = [
        faces / "spoof/print/silentface_image_F1.jpg",
        faces / "spoof/replay/silentface_image_F2.jpg",
        faces / "spoof/real/silentface_image_T1.jpg",
    ]
    identities = sorted(p for p in (faces / "identities").iterdir() if p.is_dir())
    for person in identities[::3]:
        photos = sorted(p for p in person.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        if len(photos) >= 2:
            photo_sources.append(photos[0])
    challenges = [["blink"], ["open_mouth"], ["turn_left"], ["blink", "turn_right"]]
    for n, source in enumerate(photo_sources):
        photo = load_rgb(source)
        sequence = hand_held(photo, 45, seed=n)
        person = source.parent
        others = sorted(p for p in person.iterdir() if p != source) if person.parent.name == "identities" else []
        enrol = load_rgb(others[0]) if others else photo
        name = f"{person.name}_{source.stem}"[:48]
        write_case(
            out / "attack/still_photo" / name,
            sequence,
            phone_times(45, n),
            {"actions": challenges[n % len(challenges)]},
            enrol,
        )
        count("still_photo")

    # wrong_order: a genuine blink answering a challenge that asks for other actions first.
    orders = [
        ["open_mouth", "blink"],
        ["blink", "turn_left"],
        ["turn_right", "blink"],
        ["blink", "open_mouth"],
        ["turn_left"],
        ["open_mouth"],
    ]
    for n, challenge in enumerate(orders):
        start = genuine_windows[(n * 3) % len(genuine_windows)]
        f, t = window(frames, times, start, WINDOW_MS)
        write_case(
            out / "attack/wrong_order" / f"{'_'.join(challenge)}_{start:05d}",
            f,
            t,
            {"actions": challenge},
            enrol_late if start < 6000 else enrol_early,
        )
        count("wrong_order")

    # person_switch: the real man blinks, but another person's photo fills part of the sequence.
    impostors = sorted((faces / "impostors_single").iterdir())
    for n, start in enumerate(genuine_windows[::2]):
        f, t = window(frames, times, start, WINDOW_MS)
        other = hand_held(
            cv2.resize(load_rgb(impostors[n % len(impostors)]), None, fx=1.0, fy=1.0), len(f), seed=100 + n
        )
        other = [cv2.resize(o, (f[0].shape[1], f[0].shape[0])) for o in other]
        half = len(f) // 2
        if n % 3 == 0:
            mixed = f[:half] + other[half:]  # real first, then the photo
        elif n % 3 == 1:
            mixed = other[:half] + f[half:]  # photo first, then the real man blinks
        else:
            third = len(f) // 3
            mixed = f[:third] + other[third : 2 * third] + f[2 * third :]  # swapped in the middle and back
        write_case(
            out / "attack/person_switch" / f"blink_{start:05d}_{impostors[n % len(impostors)].stem}"[:60],
            mixed,
            t,
            {"actions": ["blink"]},
            enrol_late if start < 6000 else enrol_early,
        )
        count("person_switch")
    # The Hamilton clip: film cuts between different people (faces cropped and enlarged like a selfie).
    clip = decode_video_file(str(faces / HAMILTON), limits=VideoLimits(target_fps=PHONE_FPS))
    for n, start in enumerate((3000, 4000, 5000)):
        f, t = window(clip.frames, clip.timestamps_ms, start, WINDOW_MS)
        crops = [cv2.resize(x[:, 140:500], (480, 480), interpolation=cv2.INTER_CUBIC) for x in f]
        write_case(
            out / "attack/person_switch" / f"hamilton_{start:05d}",
            crops,
            t,
            {"actions": ["blink"]},
            crops[0],
            as_video=n == 0,
        )
        count("person_switch")

    # replay: the frames of a genuine case sent again (recompressed) for a new challenge.
    for n, start in enumerate(genuine_windows[1::4]):
        f, t = window(frames, times, start, WINDOW_MS)
        recompressed = [
            cv2.imdecode(cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], cv2.IMREAD_UNCHANGED) for x in f
        ]
        write_case(
            out / "attack/replay" / f"blink_{start:05d}",
            recompressed,
            t,
            {"actions": ["blink"], "replay_of": f"genuine/blink_{start:05d}"},
            enrol_late if start < 6000 else enrol_early,
        )
        count("replay")
        del n
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    default_faces = os.environ.get(
        "PENSION_CERT_TEST_FACES", str(Path(__file__).resolve().parents[1].parent / "shared/faces")
    )
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    parser.add_argument("--actions-only", action="store_true", help="only the labelled action cases")
    args = parser.parse_args()
    counts = {} if args.actions_only else build(args.out, args.faces)
    for folder, n in build_actions(args.out, args.faces).items():
        counts[folder] = counts.get(folder, 0) + n
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
