"""The one decision function: probe frame(s) against a pensioner's templates, with a cohort."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from verification.config import VerificationConfig

Decision = Literal["match", "no_match", "retry"]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Decision with the raw distance, the score the thresholds apply to, and the rank guard."""

    decision: Decision
    distance: float  # raw minimum euclidean distance over probe frames x templates
    fused_distance: float  # raw distance fused over probe frames (each frame's nearest template)
    score: float  # cohort-normalised fused distance, or the raw fused distance without a cohort
    rank_ok: bool  # probe closer to the claimed person than to every cohort face (True without cohort)
    normalised: bool  # whether score is cohort-normalised (which thresholds applied)
    reasons: list[str] = field(default_factory=list)


def _as_matrix(vectors: np.ndarray | list[np.ndarray]) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] != 128 or matrix.shape[0] == 0:
        raise ValueError(f"expected one or more 128-d encodings, got shape {matrix.shape}")
    return matrix


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of a and b."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _fuse(per_frame: np.ndarray, how: str) -> np.ndarray:
    if how == "min":
        return per_frame.min(axis=0)
    if how == "mean":
        return per_frame.mean(axis=0)
    raise ValueError(f"unknown probe_fusion {how!r}")


def cohort_spread(vectors: np.ndarray, cohort: np.ndarray, k: int) -> float:
    """Mean distance of the vectors to their k nearest cohort faces (averaged over the vectors)."""
    dist = pairwise_distances(vectors, cohort)
    k = min(k, cohort.shape[0])
    nearest = np.partition(dist, k - 1, axis=1)[:, :k]
    return float(nearest.mean())


@dataclass(frozen=True, slots=True)
class _Score:
    """The score the thresholds apply to, the rank guard and which thresholds apply."""

    value: float
    rank_ok: bool
    normalised: bool
    match_threshold: float
    retry_threshold: float


def _score(
    probe: np.ndarray, gallery: np.ndarray, fused: float, cohort: np.ndarray | None, config: VerificationConfig
) -> _Score:
    """The fused distance, divided by the cohort spread (and rank-checked) when the cohort is large enough."""
    cohort_m = None if cohort is None else np.asarray(cohort, dtype=np.float64).reshape(-1, 128)
    if cohort_m is None or cohort_m.shape[0] < config.min_cohort_size:
        return _Score(fused, True, False, config.raw_match_threshold, config.raw_retry_threshold)
    spread = 0.5 * (cohort_spread(probe, cohort_m, config.cohort_k) + cohort_spread(gallery, cohort_m, config.cohort_k))
    nearest_other = float(_fuse(pairwise_distances(probe, cohort_m), config.probe_fusion).min())
    return _Score(fused / spread, fused < nearest_other, True, config.match_threshold, config.retry_threshold)


def _decide(score: _Score, fused: float, config: VerificationConfig) -> tuple[Decision, list[str]]:
    """Match, retry or no match, with the reasons in a stable order."""
    reasons: list[str] = [] if score.normalised else ["no_cohort"]
    if not score.rank_ok:
        reasons.append("closer_to_other_person")
    rank_pass = score.rank_ok or not config.use_rank_guard
    raw_ok = fused <= config.max_raw_distance
    if not raw_ok:
        reasons.append("raw_distance_too_large")
    if score.value <= score.match_threshold and rank_pass and raw_ok:
        return "match", reasons
    if score.value <= score.retry_threshold:
        if rank_pass and raw_ok:
            reasons.append("borderline_score")
        return "retry", reasons
    reasons.append("score_above_threshold")
    return "no_match", reasons


def verify(
    probes: np.ndarray | list[np.ndarray],
    templates: np.ndarray | list[np.ndarray],
    *,
    cohort: np.ndarray | None = None,
    config: VerificationConfig,
) -> MatchResult:
    """Decide whether the probe frame(s) show the person of the templates.

    probes: one or several 128-d encodings of the same attempt (frames are fused by
    ``config.probe_fusion`` over each frame's nearest template). templates: the anchor and rolling
    templates of the claimed pensioner. cohort: encodings of OTHER people (never the claimed
    pensioner); with at least ``config.min_cohort_size`` of them the distance is divided by the
    mean distance of probe and templates to their k nearest cohort faces, and the rank guard applies.
    """
    probe = _as_matrix(probes)
    gallery = _as_matrix(templates)
    to_claimed = pairwise_distances(probe, gallery)  # frames x templates
    fused = float(_fuse(to_claimed.min(axis=1)[:, None], config.probe_fusion)[0])
    score = _score(probe, gallery, fused, cohort, config)
    decision, reasons = _decide(score, fused, config)
    return MatchResult(
        decision=decision,
        distance=float(to_claimed.min()),
        fused_distance=fused,
        score=score.value,
        rank_ok=score.rank_ok,
        normalised=score.normalised,
        reasons=reasons,
    )


def should_add_rolling_template(result: MatchResult, config: VerificationConfig) -> bool:
    """Only a comfortable, rank-checked match may become a rolling template; never borderline ones."""
    if result.decision != "match" or not result.rank_ok:
        return False
    threshold = config.match_threshold if result.normalised else config.raw_match_threshold
    return result.score <= threshold - config.rolling_update_margin


def update_rolling_templates(
    rolling: list[np.ndarray], new: np.ndarray, config: VerificationConfig
) -> list[np.ndarray]:
    """Append the new template and keep only the newest ``max_rolling_templates``."""
    return [*rolling, np.asarray(new, dtype=np.float64)][-config.max_rolling_templates :]
