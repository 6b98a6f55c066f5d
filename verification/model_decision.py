"""The 1:1 decision of each face model as the service ships it (faces/matching.py calls it; so does the eval).

dlib: ``verification.matching.verify`` with the cohort-normalised thresholds (raw ones without a cohort).
SFace: the same function on unit vectors with raw cosine-distance thresholds and never a cohort (measured not
to help, docs/accuracy.md); its result is given in cosine distance, the unit of its settings.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from verification.config import VerificationConfig
from verification.matching import MatchResult, should_add_rolling_template, verify

DLIB, SFACE = "dlib", "sface"
MODELS = (DLIB, SFACE)
NO_COHORT = 10**9  # a cohort size no deployment reaches: SFace decides on raw distance


def euclidean(cosine_distance: float) -> float:
    """Euclidean distance between unit vectors at this cosine distance (verify() works on euclidean)."""
    return math.sqrt(2.0 * cosine_distance)


def model_config(
    base: VerificationConfig, model: str, *, sface_match_distance: float, sface_retry_distance: float
) -> VerificationConfig:
    """The decision configuration of one model: dlib's as given, SFace's raw cosine thresholds and no cohort."""
    if model == DLIB:
        return base
    if model != SFACE:
        raise ValueError(f"unknown face model {model!r}")
    match, retry = euclidean(sface_match_distance), euclidean(sface_retry_distance)
    return replace(
        base, raw_match_threshold=match, raw_retry_threshold=retry, max_raw_distance=retry, min_cohort_size=NO_COHORT
    )


def as_cosine(result: MatchResult) -> MatchResult:
    """An SFace result in cosine distance (the unit its settings use); no cohort reason, as none is used."""
    return replace(
        result,
        distance=result.distance**2 / 2,
        fused_distance=result.fused_distance**2 / 2,
        score=result.score**2 / 2,
        reasons=[r for r in result.reasons if r != "no_cohort"],
    )


def decide(
    model: str,
    probes: np.ndarray | list[np.ndarray],
    templates: np.ndarray | list[np.ndarray],
    *,
    cohort: np.ndarray | None,
    config: VerificationConfig,
) -> MatchResult:
    """Probe vector(s) of one model against the pensioner's templates of that model (``config`` from model_config)."""
    if model == SFACE:
        return as_cosine(verify(probes, templates, cohort=None, config=config))
    return verify(probes, templates, cohort=cohort, config=config)


def threshold_of(model: str, result: MatchResult, config: VerificationConfig) -> float:
    """The match threshold that applied to ``result.score`` (SFace: cosine distance)."""
    if model == SFACE:
        return config.raw_match_threshold**2 / 2
    return config.match_threshold if result.normalised else config.raw_match_threshold


def comfortable(model: str, result: MatchResult, config: VerificationConfig) -> bool:
    """A match far enough inside the threshold to become a rolling template (never a borderline one)."""
    if model == DLIB:
        return should_add_rolling_template(result, config)
    return (
        result.decision == "match"
        and result.score <= threshold_of(model, result, config) - config.rolling_update_margin
    )
