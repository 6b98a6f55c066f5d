"""Liveness on the labelled real action recordings (bench/make_liveness_set.py ACTION_LABELS)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bench.make_liveness_set import ACTION_LABELS, action_video, window
from tests.conftest import faces_dir
from verification.liveness import LivenessConfig, analyse_sequence

FACES = faces_dir() or Path("/nonexistent/shared/faces")
needs_actions = pytest.mark.skipif(
    not (FACES / "video/actions").is_dir(), reason="real action videos not found at ../shared/faces/video/actions"
)


@cache
def _video(name: str) -> tuple[list[np.ndarray], list[int]]:
    return action_video(FACES, name)


def _case(video: str, action: str, start: int) -> tuple[list[np.ndarray], list[int]]:
    label = next(x for x in ACTION_LABELS if x[0] == video and x[1] == action and x[4] == start)
    return window(*_video(video), label[4], label[5] - label[4])


@needs_actions
@pytest.mark.parametrize(
    ("video", "action", "start"),
    [
        ("head_turns_real.mp4", "turn_right", 6400),
        ("east_asian_man_turns_mouth.mp4", "turn_left", 700),
        ("man_wide_mouth.mp4", "open_mouth", 1400),
        ("east_asian_man_turns_mouth.mp4", "open_mouth", 3900),
    ],
)
def test_real_action_passes(video: str, action: str, start: int) -> None:
    frames, times = _case(video, action, start)
    result = analyse_sequence(frames, times, [action], config=LivenessConfig())
    assert result.passed, result.reasons


@needs_actions
def test_mirrored_turn_needs_the_mirrored_flag() -> None:
    frames, times = _case("head_turns_real.mp4", "turn_right", 6400)
    flipped = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    as_sent = analyse_sequence(flipped, times, ["turn_right"], config=LivenessConfig())
    flagged = analyse_sequence(flipped, times, ["turn_right"], config=LivenessConfig(mirrored=True))
    assert "action_missing:turn_right" in as_sent.reasons
    assert flagged.passed, flagged.reasons


@needs_actions
def test_turn_left_peak_yaw_near_labelled_angle() -> None:
    frames, times = _case("head_turns_real.mp4", "turn_left", 1000)
    yaw = analyse_sequence(frames, times, ["turn_left"], config=LivenessConfig()).yaw
    peak = max(y for y in yaw if y is not None)
    assert abs(peak - 45.0) <= 10.0  # labelled ~45 deg from the frames; measured 51


@needs_actions
@pytest.mark.xfail(
    strict=True, reason="turn_right reads -28 deg for a ~40 deg turn (docs/liveness_actions_measured.md)"
)
def test_turn_right_peak_yaw_near_labelled_angle() -> None:
    frames, times = _case("head_turns_real.mp4", "turn_right", 6400)
    yaw = analyse_sequence(frames, times, ["turn_right"], config=LivenessConfig()).yaw
    peak = min(y for y in yaw if y is not None)
    assert abs(peak + 40.0) <= 10.0
