"""The evaluation engine on a small real subset of the faces folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from verification.evaluation import format_report, run_eval

IDENTITIES = ("Colin_Powell", "Tony_Blair", "George_W_Bush", "Jacky_Cheung", "Hugo_Chavez", "Donald_Rumsfeld")


@pytest.fixture(scope="module")
def subset(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces_subset")
    for identity in IDENTITIES:
        (root / "identities" / identity).mkdir(parents=True)
        for photo in sorted((faces_dir / "identities" / identity).iterdir())[:6]:
            (root / "identities" / identity / photo.name).symlink_to(photo)
    (root / "impostors_single").mkdir()
    for photo in sorted((faces_dir / "impostors_single").iterdir())[:10]:
        (root / "impostors_single" / photo.name).symlink_to(photo)
    return root


def test_eval_on_subset(subset: Path, tmp_path: Path) -> None:
    plot = tmp_path / "det.png"
    result = run_eval(subset, plot_path=plot, processes=2)
    for key in (
        "genuine_pairs",
        "impostor_pairs",
        "eer",
        "fnmr_at_fmr_1pct",
        "fnmr_at_fmr_0_1pct",
        "threshold",
        "fmr_at_threshold",
        "fnmr_at_threshold",
        "failed_to_acquire",
        "below_quality",
        "subgroups",
        "levers",
    ):
        assert key in result, key
    # 5 identities x C(6,2) + Jacky_Cheung's one pair, minus pairs of any photo without a face.
    assert 60 <= result["genuine_pairs"] <= 76
    assert result["impostor_pairs"] > 500
    assert 0.0 <= result["eer"] < 0.10
    assert result["fmr_at_threshold"] <= 0.01
    assert "impostor:east_asian" in result["subgroups"]
    assert any(name.startswith("multi-enrol: 3 photos") for name in result["levers"])
    assert plot.stat().st_size > 10_000
    text = format_report(result)
    assert "EER" in text and "failed to acquire" in text
