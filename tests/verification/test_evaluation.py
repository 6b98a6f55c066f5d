"""The evaluation engines and the shipped SFace decision on real photos of the faces folder."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from faces.matching import model_config, verification_config
from faces.pool import PhotoAnalysis, analyse_photo
from verification import model_decision
from verification.evaluation import SHIPPED_ROW, EvalConfigs, format_report, jsonable, plot_det, run_eval
from verification.pad_eval import run_pad_eval

IDENTITIES = ("Colin_Powell", "Tony_Blair", "Jacky_Cheung", "Hugo_Chavez", "George_W_Bush")
EAST_ASIAN = ("Wen_Jiabao", "Zhu_Rongji", "Hu_Jintao")


def _link(source: Path, target: Path, count: int) -> None:
    target.mkdir(parents=True)
    for photo in sorted(source.iterdir())[:count]:
        (target / photo.name).symlink_to(photo)


@pytest.fixture(scope="module")
def mixed(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    for identity in IDENTITIES:
        _link(faces_dir / "identities" / identity, root / "identities" / identity, 5)
    _link(faces_dir / "impostors_single", root / "impostors_single", 16)
    return root


@pytest.fixture(scope="module")
def east_asian(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sets") / "east_asian"
    for identity in EAST_ASIAN:
        _link(faces_dir / "east_asian" / "identities" / identity, root / "identities" / identity, 4)
    return root


def test_eval_decides_both_models_and_the_shipped_decision(mixed: Path, east_asian: Path, tmp_path: Path) -> None:
    results = [run_eval(mixed, processes=2), run_eval(east_asian, population="east_asian", processes=2)]
    mixed_result, east_result = results
    models = mixed_result["models"]
    for name in ("1 vs 1 / dlib", "1 vs 1 / sface", "1 vs 1 / fused"):
        row = models[name]
        assert {"eer", "fnmr_at_fmr_0_1pct", "fnmr_at_fmr_1pct", "fmr_at_threshold", "fnmr_at_threshold"} <= set(row)
    assert models["1 vs 1 / sface"]["threshold"] == pytest.approx(0.55)
    assert models["1 vs 1 / dlib"]["threshold"] == pytest.approx(0.90)
    assert models["1 vs 1 / dlib"]["without_cohort"] == 0  # every pair has >= 20 cohort photos
    shipped = models[SHIPPED_ROW]
    assert shipped["decided_by_sface"] > 0 and shipped["genuine_pairs"] >= 30
    assert shipped["fmr_at_threshold"] <= 0.01
    # The East-Asian folder is one population: every subgroup row is East-Asian, and its own target applies.
    assert east_result["target"]["fnmr_max"] == 0.02 and mixed_result["target"]["fnmr_max"] == 0.05
    assert all(":" in k and k.split(": ")[1] != "other" for k in east_result["subgroups_by_model"])
    assert "impostor: east_asian" in mixed_result["subgroups_by_model"]
    assert any(name.startswith("fusion: 3 probe photos (mean)") for name in mixed_result["levers"])
    assert "1 vs 1 / dlib without a cohort (raw thresholds)" in mixed_result["levers"]
    plot = tmp_path / "det.png"
    plot_det(results, plot)
    assert plot.stat().st_size > 10_000
    assert "_curves" not in jsonable(mixed_result)
    text = format_report(mixed_result)
    assert "target (mixed)" in text and "FNMR@.1%" in text


@cache
def _sface_vector(path: Path) -> np.ndarray:
    """The SFace vector of a photo as the service's photo check computes it."""
    analysis = analyse_photo(path.read_bytes(), verification_config(Settings()), None, ("dlib", "sface"), False)
    assert isinstance(analysis, PhotoAnalysis), analysis
    return analysis.vectors["sface"]


def _shipped_sface_decision(probe: Path, template: Path) -> str:
    """The decision faces.matching makes for a pensioner with an SFace template (settings' thresholds)."""
    config = model_config(Settings(), "sface")
    return model_decision.decide(
        "sface", _sface_vector(probe), [_sface_vector(template)], cohort=None, config=config
    ).decision


def test_sface_same_person_real_pairs_match_with_the_shipped_decision(faces_dir: Path) -> None:
    photos = sorted((faces_dir / "east_asian" / "identities" / "Wen_Jiabao").iterdir())[:5]
    decisions = {_shipped_sface_decision(a, b) for a, b in itertools.combinations(photos, 2)}
    assert decisions == {"match"}


def test_sface_east_asian_stranger_pairs_do_not_match_with_the_shipped_decision(faces_dir: Path) -> None:
    """Two elderly Chinese men (the fraud this service exists to stop is a look-alike relative)."""
    people = faces_dir / "east_asian" / "identities"
    wen = sorted((people / "Wen_Jiabao").iterdir())[:5]
    zhu = sorted((people / "Zhu_Rongji").iterdir())[:5]
    decisions = {_shipped_sface_decision(a, b) for a in wen for b in zhu}
    assert decisions == {"no_match"}


def test_model_decision_is_the_one_faces_matching_ships() -> None:
    settings = Settings()
    config = model_config(settings, "sface")
    assert config.raw_match_threshold**2 / 2 == pytest.approx(settings.face_sface_match_distance)
    assert config.min_cohort_size > 10**6  # SFace never uses a cohort
    assert model_config(settings, "dlib") == verification_config(settings)
    defaults = EvalConfigs.defaults()
    assert defaults.sface == config and defaults.dlib == verification_config(settings)


def test_pad_eval_refuses_every_spoof_and_the_screen_replay(faces_dir: Path) -> None:
    result = run_pad_eval(faces_dir, pad_threshold=Settings().face_pad_real_threshold)
    replay = [c for c in result["cases"] if c["kind"] == "screen_replay_video"]
    assert len(replay) == 3 and all(c["pad_refuses"] and not c["accepted"] for c in replay)
    assert result["apcer"] == {"print": 0.0, "screen_photo": 0.0, "screen_replay_video": 0.0}
    assert result["pad_refused"]["print"] == 1.0 and result["pad_refused"]["screen_photo"] == 1.0
    assert result["bpcer"] == {"real_photo": 0.0}
