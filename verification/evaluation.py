"""Face-verification evaluation on a folder of real photos (engine of ``pension-cert eval-faces``)."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import analyse_face, encode
from verification.image import decode_image
from verification.matching import MatchResult, verify

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
EAST_ASIAN_IDENTITIES = {"Jacky_Cheung"}  # plus every file in impostors_single/
JITTER_LEVER = 10  # enrolment jitters measured by the jitter lever


@dataclass(slots=True)
class Sample:
    """One photo: its identity, subgroup, encodings (None when no face was acquired) and quality."""

    path: str
    identity: str
    group: str  # "east_asian", "other" or "unknown"
    encoding: np.ndarray | None = None
    enrol_encoding: np.ndarray | None = None  # with config.enrol_num_jitters
    failure: str | None = None
    quality_reasons: tuple[str, ...] = ()


_CACHE: dict[tuple[Any, ...], Sample] = {}


def _group(identity: str, single: bool) -> str:
    if single or identity in EAST_ASIAN_IDENTITIES:
        return "east_asian"
    if identity.startswith("deepface_"):
        return "unknown"
    return "other"


def list_samples(directory: Path) -> list[Sample]:
    """Photos under identities/<identity>/ and impostors_single/ (each file its own identity)."""
    samples = []
    for path in sorted((directory / "identities").glob("*/*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            identity = path.parent.name
            samples.append(Sample(str(path), identity, _group(identity, False)))
    for path in sorted((directory / "impostors_single").glob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            samples.append(Sample(str(path), f"single:{path.stem}", "east_asian"))
    return samples


def _encode_one(args: tuple[str, VerificationConfig, bool]) -> tuple[Any, ...]:
    path, config, with_enrol = args
    try:
        rgb = decode_image(Path(path).read_bytes(), config=config)
        face = analyse_face(rgb, config=config, num_jitters=1)
    except VerificationError as exc:
        return (None, None, exc.code, ())
    enrol = None
    if with_enrol:
        enrol = encode(rgb, face.box, num_jitters=config.enrol_num_jitters, max_side=config.encode_max_side)
    return (face.encoding, enrol, None, tuple(face.quality.reasons))


def encode_samples(samples: list[Sample], *, config: VerificationConfig, with_enrol: bool, processes: int) -> None:
    """Fill in encodings (each image once; cached in-process across runs)."""
    keys = []
    todo = []
    for sample in samples:
        stat = os.stat(sample.path)
        key = (sample.path, stat.st_size, stat.st_mtime_ns, config, with_enrol)
        keys.append(key)
        if key not in _CACHE:
            todo.append(sample)
    if todo:
        args = [(s.path, config, with_enrol) for s in todo]
        if processes > 1:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                results = pool.map(_encode_one, args, chunksize=4)
        else:
            results = [_encode_one(a) for a in args]
        for sample, (enc, enrol, failure, reasons) in zip(todo, results, strict=True):
            sample.encoding, sample.enrol_encoding, sample.failure = enc, enrol, failure
            sample.quality_reasons = reasons
            key = (sample.path, *keys[samples.index(sample)][1:])
            _CACHE[key] = dataclasses.replace(sample)
    for i, sample in enumerate(samples):
        cached = _CACHE[keys[i]]
        sample.encoding, sample.enrol_encoding = cached.encoding, cached.enrol_encoding
        sample.failure, sample.quality_reasons = cached.failure, cached.quality_reasons


# --- metrics -------------------------------------------------------------------------------------


def threshold_at_fmr(impostor: np.ndarray, target: float) -> float:
    """Largest threshold t with FMR(score <= t) <= target."""
    ordered = np.sort(impostor)
    allowed = int(np.floor(target * len(ordered)))
    if allowed >= len(ordered):
        return float("inf")
    return float(np.nextafter(ordered[allowed], -np.inf))


def rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) when scores <= threshold are accepted."""
    return float(np.mean(impostor <= threshold)), float(np.mean(genuine > threshold))


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """EER: mean of FMR and FNMR where they are closest."""
    finite = np.concatenate([genuine, impostor])
    candidates = np.unique(finite[np.isfinite(finite)])
    if candidates.size == 0:
        return 1.0
    fmr = np.searchsorted(np.sort(impostor), candidates, side="right") / len(impostor)
    fnmr = 1.0 - np.searchsorted(np.sort(genuine), candidates, side="right") / len(genuine)
    i = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[i] + fnmr[i]) / 2)


def summarise(genuine: Iterable[float], impostor: Iterable[float]) -> dict[str, Any]:
    """EER and FNMR at FMR 1% / 0.1% for one score (lower = more similar, inf = never accepted)."""
    gen = np.asarray(list(genuine), dtype=np.float64)
    imp = np.asarray(list(impostor), dtype=np.float64)
    out: dict[str, Any] = {"genuine_pairs": int(gen.size), "impostor_pairs": int(imp.size)}
    if gen.size == 0 or imp.size == 0:
        return out
    t1 = threshold_at_fmr(imp, 0.01)
    t01 = threshold_at_fmr(imp, 0.001)
    out.update(
        eer=equal_error_rate(gen, imp),
        fnmr_at_fmr_1pct=rates(gen, imp, t1)[1],
        fnmr_at_fmr_0_1pct=rates(gen, imp, t01)[1],
        threshold_at_fmr_1pct=t1,
        threshold_at_fmr_0_1pct=t01,
    )
    return out


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) over all finite thresholds."""
    scores = np.concatenate([genuine, impostor])
    thresholds = np.unique(scores[np.isfinite(scores)])
    fmr = np.searchsorted(np.sort(impostor), thresholds, side="right") / len(impostor)
    fnmr = 1.0 - np.searchsorted(np.sort(genuine), thresholds, side="right") / len(genuine)
    return fmr, fnmr


# --- trials --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Trial:
    """One comparison: template photos of one identity against probe frame(s) of one identity."""

    template_ids: tuple[int, ...]
    probe_ids: tuple[int, ...]
    genuine: bool


def _score_trials(
    samples: list[Sample],
    trials: list[Trial],
    *,
    config: VerificationConfig,
    enrol_jitter: bool = False,
) -> list[tuple[Trial, MatchResult]]:
    """Score every trial with matching.verify; cohort = all encoded photos of OTHER identities."""
    identities = np.array([s.identity for s in samples])
    encoded = np.array([s.encoding is not None for s in samples])
    all_enc = np.zeros((len(samples), 128))
    for i, s in enumerate(samples):
        if s.encoding is not None:
            all_enc[i] = s.encoding
    by_pair: dict[tuple[str, str], list[Trial]] = {}
    for trial in trials:
        a, b = samples[trial.template_ids[0]].identity, samples[trial.probe_ids[0]].identity
        by_pair.setdefault((min(a, b), max(a, b)), []).append(trial)
    results = []
    for (a, b), group in by_pair.items():
        cohort = all_enc[encoded & (identities != a) & (identities != b)]
        for trial in group:
            templates = np.array(
                [(samples[i].enrol_encoding if enrol_jitter else samples[i].encoding) for i in trial.template_ids]
            )
            probes = np.array([samples[i].encoding for i in trial.probe_ids])
            results.append((trial, verify(probes, templates, cohort=cohort, config=config)))
    return results


def _by_identity(samples: list[Sample]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        if s.encoding is not None:
            groups.setdefault(s.identity, []).append(i)
    return groups


def pair_trials(samples: list[Sample]) -> list[Trial]:
    """All genuine pairs and all impostor pairs of encoded photos (first photo = template)."""
    idx = [i for i, s in enumerate(samples) if s.encoding is not None]
    return [Trial((i,), (j,), samples[i].identity == samples[j].identity) for i, j in itertools.combinations(idx, 2)]


def _rotations(members: list[int], size: int) -> list[tuple[int, tuple[int, ...]]]:
    """For each member, the next ``size`` members (cyclic) as its companions."""
    n = len(members)
    return [(members[p], tuple(members[(p + k) % n] for k in range(1, size + 1))) for p in range(n)]


def multi_enrol_trials(samples: list[Sample], size: int = 3) -> tuple[list[Trial], list[Trial]]:
    """(one enrolment photo, `size` enrolment photos) trials on the same probes."""
    groups = _by_identity(samples)
    eligible = {k: v for k, v in groups.items() if len(v) > size}
    one, many = [], []
    for identity, members in eligible.items():
        for probe, enrol in _rotations(members, size):
            one.append(Trial(enrol[:1], (probe,), True))
            many.append(Trial(enrol, (probe,), True))
        enrol = tuple(members[:size])
        for other, others in groups.items():
            if other == identity:
                continue
            for probe in others:
                one.append(Trial(enrol[:1], (probe,), False))
                many.append(Trial(enrol, (probe,), False))
    return one, many


def fusion_trials(samples: list[Sample], frames: int = 3) -> tuple[list[Trial], list[Trial]]:
    """(one probe frame, `frames` probe photos of one person) against one template."""
    groups = _by_identity(samples)
    eligible = {k: v for k, v in groups.items() if len(v) > frames}
    probe_sets = {k: _rotations(v, frames) for k, v in groups.items() if len(v) >= frames}
    one, many = [], []
    for identity, members in eligible.items():
        for template, probes in _rotations(members, frames):
            one.append(Trial((template,), probes[:1], True))
            many.append(Trial((template,), probes, True))
        for other, sets in probe_sets.items():
            if other == identity:
                continue
            _, probes = sets[0]
            probes = (sets[0][0], *probes[: frames - 1])
            for template in members:
                one.append(Trial((template,), probes[:1], False))
                many.append(Trial((template,), probes, False))
    return one, many


# --- levers --------------------------------------------------------------------------------------

ScoreFn = Callable[[MatchResult], float]


def _raw(r: MatchResult) -> float:
    return r.fused_distance


def _norm(r: MatchResult) -> float:
    return r.score


def _norm_rank(r: MatchResult) -> float:
    return r.score if r.rank_ok else float("inf")


def _offset_rank(r: MatchResult) -> float:
    spread = r.fused_distance / r.score if r.score > 0 else 0.0
    return r.fused_distance - spread if r.rank_ok else float("inf")


SCORES: dict[str, ScoreFn] = {
    "raw": _raw,
    "cohort_divide": _norm,
    "cohort_divide+rank": _norm_rank,
    "cohort_offset+rank": _offset_rank,
}


def _lever_rows(name: str, scored: list[tuple[Trial, MatchResult]]) -> dict[str, dict[str, Any]]:
    rows = {}
    for score_name, fn in SCORES.items():
        gen = [fn(r) for t, r in scored if t.genuine]
        imp = [fn(r) for t, r in scored if not t.genuine]
        rows[f"{name} / {score_name}"] = summarise(gen, imp)
    return rows


def _subgroups(
    samples: list[Sample], scored: list[tuple[Trial, MatchResult]], threshold: float
) -> dict[str, dict[str, Any]]:
    """FNMR per genuine subgroup and FMR per impostor subgroup at the decision threshold."""
    out: dict[str, dict[str, Any]] = {}
    for trial, result in scored:
        ga, gb = samples[trial.template_ids[0]].group, samples[trial.probe_ids[0]].group
        key = ga if ga == gb else "mixed"
        kind = "genuine" if trial.genuine else "impostor"
        row = out.setdefault(f"{kind}:{key}", {"pairs": 0, "errors": 0, "scores": []})
        row["pairs"] += 1
        accepted = result.decision == "match"
        row["errors"] += int(accepted != trial.genuine)
        row["scores"].append(result.score if result.rank_ok else float("inf"))
    for key, row in out.items():
        scores = np.asarray(row.pop("scores"))
        rate = row["errors"] / row["pairs"]
        row["fnmr" if key.startswith("genuine") else "fmr"] = rate
        finite = scores[np.isfinite(scores)]
        if key.startswith("impostor") and finite.size:
            row["min_score"] = float(finite.min())
        if key.startswith("genuine") and finite.size:
            row["max_score"] = float(finite.max())
    return dict(sorted(out.items()))


def _headline(
    directory: Path, samples: list[Sample], scored: list[tuple[Trial, MatchResult]], config: VerificationConfig
) -> dict[str, Any]:
    """Rates of the configured decision and score over all pairs, failures, quality and subgroups."""
    gen = [t for t, _ in scored if t.genuine]
    decisions_gen = np.array([r.decision == "match" for t, r in scored if t.genuine])
    decisions_imp = np.array([r.decision == "match" for t, r in scored if not t.genuine])
    default_score = SCORES["cohort_divide+rank" if config.use_rank_guard else "cohort_divide"]
    base = summarise(
        [default_score(r) for t, r in scored if t.genuine],
        [default_score(r) for t, r in scored if not t.genuine],
    )
    passing = [
        (t, default_score(r))
        for t, r in scored
        if not samples[t.template_ids[0]].quality_reasons and not samples[t.probe_ids[0]].quality_reasons
    ]
    quality_passing = summarise([v for t, v in passing if t.genuine], [v for t, v in passing if not t.genuine])
    failures = [s for s in samples if s.failure is not None]
    return {
        "directory": str(directory),
        "photos": len(samples),
        "identities": len({s.identity for s in samples}),
        "genuine_pairs": len(gen),
        "impostor_pairs": len(scored) - len(gen),
        "eer": base.get("eer"),
        "fnmr_at_fmr_1pct": base.get("fnmr_at_fmr_1pct"),
        "fnmr_at_fmr_0_1pct": base.get("fnmr_at_fmr_0_1pct"),
        "threshold_at_fmr_0_1pct": base.get("threshold_at_fmr_0_1pct"),
        "threshold_at_fmr_1pct": base.get("threshold_at_fmr_1pct"),
        "score": "fused distance / mean k-NN cohort distance"
        + (", rank guard on" if config.use_rank_guard else ", rank guard off"),
        "threshold": config.match_threshold,
        "retry_threshold": config.retry_threshold,
        "fmr_at_threshold": float(decisions_imp.mean()) if decisions_imp.size else None,
        "fnmr_at_threshold": float(1 - decisions_gen.mean()) if decisions_gen.size else None,
        "failed_to_acquire": {
            "count": len(failures),
            "files": {os.path.relpath(s.path, directory): s.failure for s in failures},
        },
        "below_quality": {
            "count": sum(1 for s in samples if s.quality_reasons),
            "files": {
                os.path.relpath(s.path, directory): list(s.quality_reasons) for s in samples if s.quality_reasons
            },
        },
        "quality_passing_pairs": quality_passing,
        "subgroups": _subgroups(samples, scored, config.match_threshold),
    }


def _more_levers(samples: list[Sample], config: VerificationConfig) -> dict[str, dict[str, Any]]:
    """Several enrolment photos and fused probe frames, each against its one-photo baseline."""
    rows: dict[str, dict[str, Any]] = {}
    one, many = multi_enrol_trials(samples)
    rows.update(_lever_rows("multi-enrol baseline: 1 photo", _score_trials(samples, one, config=config)))
    rows.update(_lever_rows("multi-enrol: 3 photos", _score_trials(samples, many, config=config)))
    one, many = fusion_trials(samples)
    rows.update(_lever_rows("fusion baseline: 1 frame", _score_trials(samples, one, config=config)))
    for how in ("mean", "min"):
        fused_cfg = dataclasses.replace(config, probe_fusion=how)
        rows.update(_lever_rows(f"fusion: 3 frames ({how})", _score_trials(samples, many, config=fused_cfg)))
    return rows


def run_eval(
    directory: str | Path,
    *,
    config: VerificationConfig | None = None,
    plot_path: str | Path | None = None,
    levers: bool = True,
    jitter_lever: bool = False,
    processes: int = 2,
) -> dict[str, Any]:
    """Encode every photo once, score all genuine and impostor pairs with matching.verify, report.

    levers: also score several enrolment photos and fused probe frames; jitter_lever: also encode
    every photo with ``config.enrol_num_jitters`` jitters (about 1 s more per photo at 10).
    """
    config = config or VerificationConfig()
    directory = Path(directory)
    started = time.perf_counter()
    samples = list_samples(directory)
    encode_cfg = dataclasses.replace(config, enrol_num_jitters=JITTER_LEVER) if jitter_lever else config
    encode_samples(samples, config=encode_cfg, with_enrol=jitter_lever, processes=processes)
    encode_seconds = time.perf_counter() - started

    scored = _score_trials(samples, pair_trials(samples), config=config)
    result = _headline(directory, samples, scored, config)
    result["levers"] = _lever_rows("1 enrol photo, 1 probe", scored)
    if jitter_lever:
        jittered = _score_trials(samples, pair_trials(samples), config=config, enrol_jitter=True)
        result["levers"].update(_lever_rows(f"enrol jitter {JITTER_LEVER}", jittered))
    if levers:
        result["levers"].update(_more_levers(samples, config))
    result["seconds"] = {"encode": encode_seconds, "total": time.perf_counter() - started}
    if plot_path is not None:
        plot_det(scored, Path(plot_path))
        result["plot"] = str(plot_path)
    return result


def plot_det(scored: list[tuple[Trial, MatchResult]], path: Path) -> None:
    """DET curve (FNMR against FMR, log axes) of raw and cohort-normalised scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, fn in SCORES.items():
        gen = np.array([fn(r) for t, r in scored if t.genuine])
        imp = np.array([fn(r) for t, r in scored if not t.genuine])
        fmr, fnmr = det_curve(gen, imp)
        ax.plot(np.clip(fmr, 1e-5, 1), np.clip(fnmr, 1e-4, 1), label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(0.001, color="grey", linestyle=":", linewidth=1)
    ax.axvline(0.01, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("false match rate (FMR)")
    ax.set_ylabel("false non-match rate (FNMR)")
    ax.set_title("DET, all pairs, 1 enrolment photo vs 1 probe")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pct(value: Any) -> str:
    return "   n/a" if value is None else f"{100 * value:5.2f}%"


def format_report(result: dict[str, Any]) -> str:
    """Human-readable text of a run_eval result."""
    lines = [
        f"Face verification on {result['directory']}: {result['photos']} photos, {result['identities']} identities",
        f"genuine pairs {result['genuine_pairs']}, impostor pairs {result['impostor_pairs']}",
        f"score: {result['score']}",
        f"EER {_pct(result['eer'])}  FNMR@FMR1% {_pct(result['fnmr_at_fmr_1pct'])}  "
        f"FNMR@FMR0.1% {_pct(result['fnmr_at_fmr_0_1pct'])}  "
        f"(threshold for FMR 0.1%: {result['threshold_at_fmr_0_1pct']:.4f})",
        f"configured match threshold {result['threshold']}: FMR {_pct(result['fmr_at_threshold'])}, "
        f"FNMR {_pct(result['fnmr_at_threshold'])}",
        f"pairs where both photos pass the quality gates: FNMR@FMR0.1% "
        f"{_pct(result['quality_passing_pairs'].get('fnmr_at_fmr_0_1pct'))} "
        f"({result['quality_passing_pairs']['genuine_pairs']} genuine)",
        f"failed to acquire: {result['failed_to_acquire']['count']}  "
        f"below quality (still scored): {result['below_quality']['count']}",
        "",
        f"{'lever / score':58s} {'gen':>5s} {'imp':>6s} {'EER':>7s} {'FNMR@1%':>8s} {'FNMR@.1%':>8s} {'t@.1%':>7s}",
    ]
    for name, row in result["levers"].items():
        if "eer" not in row:
            continue
        lines.append(
            f"{name:58s} {row['genuine_pairs']:5d} {row['impostor_pairs']:6d} {_pct(row['eer']):>7s} "
            f"{_pct(row['fnmr_at_fmr_1pct']):>8s} {_pct(row['fnmr_at_fmr_0_1pct']):>8s} "
            f"{row['threshold_at_fmr_0_1pct']:7.4f}"
        )
    lines += ["", "subgroups at the configured decision:"]
    for key, row in result["subgroups"].items():
        rate_name = "fnmr" if key.startswith("genuine") else "fmr"
        extra = " ".join(f"{k}={v:.3f}" for k, v in row.items() if k in ("min_score", "max_score"))
        lines.append(f"  {key:22s} pairs {row['pairs']:6d}  {rate_name} {_pct(row[rate_name])}  {extra}")
    lines.append(f"time: encode {result['seconds']['encode']:.1f} s, total {result['seconds']['total']:.1f} s")
    return "\n".join(lines)
