"""Face-verification evaluation on a folder of real photos (engine of ``pension-cert eval-faces``).

Every comparison is decided by ``verification.model_decision.decide``, the function ``faces/matching.py``
calls, with the per-model configurations the CLI builds from the settings (``faces.matching.model_config``):
the rates are those of the shipped decision. Each photo goes through the shipped photo path
(``faces/pool.analyse_photo``): enrolment photos as enrolment sees them (dlib ``analyse_face`` first, a photo it
refuses is refused, then YuNet + SFace on the same decoded image), probes of a pensioner SFace decides for as
the SFace-only check sees them (``verification.photo.check_photo``: no dlib). Passive anti-spoofing is not part
of this evaluation (``eval-liveness``).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from verification import model_decision
from verification.config import VerificationConfig
from verification.errors import VerificationError
from verification.face import analyse_face
from verification.image import decode_image
from verification.matching import MatchResult, verify
from verification.model_decision import DLIB, SFACE
from verification.models import SFACE_MATCH_DISTANCE, SFACE_RETRY_DISTANCE, embed_face, sface_model
from verification.photo import check_photo

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
EAST_ASIAN_IDENTITIES = {"Jacky_Cheung"}  # plus every file in impostors_single/
TIGHT_CROP_SIDE = (
    120  # long side at or below this: a tight face crop (the 112 px celebrity crops; no context around the face)
)
FUSED = "fused"
SHIPPED_ROW = "shipped: SFace (SFace-only probe check) if enrolled with SFace, else dlib"
# The targets for the shipped decision: (FMR, FNMR) at most.
TARGETS = {"east_asian": (0.001, 0.02), "mixed": (0.001, 0.05)}


@dataclass(frozen=True, slots=True)
class EvalConfigs:
    """The decision configuration of every model (``faces.matching.model_config`` of the settings)."""

    dlib: VerificationConfig
    sface: VerificationConfig

    @classmethod
    def defaults(cls) -> EvalConfigs:
        """The shipped defaults without settings (tests)."""
        base = VerificationConfig()
        sface = model_decision.model_config(
            base, SFACE, sface_match_distance=SFACE_MATCH_DISTANCE, sface_retry_distance=SFACE_RETRY_DISTANCE
        )
        return cls(dlib=base, sface=sface)

    def of(self, model: str) -> VerificationConfig:
        """The configuration of one model."""
        return self.sface if model == SFACE else self.dlib


@dataclass(slots=True)
class Sample:
    """One photo: identity, subgroup, each model's vector (None when not acquired) and photo quality."""

    path: str
    identity: str
    group: str  # "east_asian", "other" or "unknown"
    encoding: np.ndarray | None = None  # dlib
    sface: np.ndarray | None = None
    failure: str | None = None  # dlib's refusal code (the service refuses the photo)
    sface_failure: str | None = None
    quality_reasons: tuple[str, ...] = ()
    long_side: int = 0
    check: np.ndarray | None = None  # SFace vector of the SFace-only photo check (a probe of an SFace pensioner)
    check_failure: str | None = None  # that check's refusal code
    check_quality: tuple[str, ...] = ()

    def vector(self, model: str) -> np.ndarray | None:
        """This photo's vector of ``model``."""
        return self.sface if model == SFACE else self.encoding


def _group(identity: str, single: bool) -> str:
    if single or identity in EAST_ASIAN_IDENTITIES:
        return "east_asian"
    if identity.startswith("deepface_"):
        return "unknown"
    return "other"


def list_samples(directory: Path, *, population: str | None = None) -> list[Sample]:
    """Photos under identities/<identity>/ and impostors_single/ (each file its own identity).

    population: the subgroup of every photo when the whole folder is one population (``east_asian``).
    """
    samples = []
    for path in sorted((directory / "identities").glob("*/*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            identity = path.parent.name
            samples.append(Sample(str(path), identity, population or _group(identity, False)))
    for path in sorted((directory / "impostors_single").glob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            samples.append(Sample(str(path), f"single:{path.stem}", population or "east_asian"))
    return samples


def _check_one(data: bytes, config: VerificationConfig) -> dict[str, Any]:
    """The SFace-only photo check of one file (a probe of a pensioner SFace decides for)."""
    try:
        checked = check_photo(data, config=config, pad=False)
    except VerificationError as exc:
        return {"check_failure": exc.code}
    return {"check": checked.vector, "check_quality": tuple(checked.quality.reasons)}


def _encode_one(args: tuple[str, VerificationConfig]) -> dict[str, Any]:
    """The shipped photo paths on one file: the SFace-only check, and decode, dlib analyse_face, then YuNet + SFace
    (faces/pool.analyse_photo with dlib)."""
    path, config = args
    data = Path(path).read_bytes()
    checked = _check_one(data, config)
    try:
        rgb = decode_image(data, config=config)
        face = analyse_face(rgb, config=config)
    except VerificationError as exc:
        return {"failure": exc.code} | checked
    out: dict[str, Any] = {"encoding": face.encoding, "quality": tuple(face.quality.reasons)} | checked
    out["long_side"] = int(max(rgb.shape[:2]))
    try:
        out["sface"] = embed_face(sface_model(), rgb)[1]
    except VerificationError as exc:
        out["sface_failure"] = exc.code
    return out


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def encode_samples(samples: list[Sample], *, config: VerificationConfig, processes: int) -> None:
    """Fill in every photo's vectors (worker processes when processes > 1)."""
    args = [(s.path, config) for s in samples]
    if processes > 1:
        # Not fork: a parent that has run OpenCV's DNN (a test session, the face pool) leaves its thread pool
        # locked in a forked child, which then hangs in YuNet / SFace.
        with multiprocessing.get_context("forkserver").Pool(processes, initializer=_init_worker) as pool:
            records = pool.map(_encode_one, args, chunksize=4)
    else:
        records = [_encode_one(a) for a in args]
    for sample, record in zip(samples, records, strict=True):
        sample.encoding, sample.sface = record.get("encoding"), record.get("sface")
        sample.failure, sample.sface_failure = record.get("failure"), record.get("sface_failure")
        sample.quality_reasons, sample.long_side = record.get("quality", ()), record.get("long_side", 0)
        sample.check, sample.check_failure = record.get("check"), record.get("check_failure")
        sample.check_quality = record.get("check_quality", ())


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


def summarise(genuine: Any, impostor: Any) -> dict[str, Any]:
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


@dataclass(slots=True)
class Scored:
    """One trial list decided by dlib and by SFace (same trials, same order)."""

    trials: list[Trial]
    results: dict[str, list[MatchResult]] = field(default_factory=dict)


def usable(samples: list[Sample], models: tuple[str, ...]) -> list[int]:
    """Indices of the photos that have a vector of every one of ``models``."""
    return [i for i, s in enumerate(samples) if all(s.vector(m) is not None for m in models)]


def pair_trials(samples: list[Sample], indices: list[int]) -> list[Trial]:
    """All genuine and impostor pairs among ``indices`` (first photo = template)."""
    return [
        Trial((i,), (j,), samples[i].identity == samples[j].identity) for i, j in itertools.combinations(indices, 2)
    ]


def _matrix(samples: list[Sample], model: str) -> np.ndarray:
    out = np.zeros((len(samples), 128))
    for i, s in enumerate(samples):
        vector = s.vector(model)
        if vector is not None:
            out[i] = vector
    return out


def decide_trials(
    samples: list[Sample], trials: list[Trial], model: str, config: VerificationConfig, *, cohort: bool = True
) -> list[MatchResult]:
    """Every trial decided by model_decision.decide; dlib's cohort = all photos of OTHER identities."""
    identities = np.array([s.identity for s in samples])
    has = np.array([s.vector(model) is not None for s in samples])
    vectors = _matrix(samples, model)
    out: list[MatchResult | None] = [None] * len(trials)
    by_pair: dict[tuple[str, str], list[int]] = {}
    for n, trial in enumerate(trials):
        a, b = samples[trial.template_ids[0]].identity, samples[trial.probe_ids[0]].identity
        by_pair.setdefault((min(a, b), max(a, b)), []).append(n)
    for (a, b), members in by_pair.items():
        others = vectors[has & (identities != a) & (identities != b)] if cohort else None
        for n in members:
            trial = trials[n]
            probes, templates = vectors[list(trial.probe_ids)], vectors[list(trial.template_ids)]
            out[n] = model_decision.decide(model, probes, templates, cohort=others, config=config)
    return [r for r in out if r is not None]


def sface_cohort_scores(samples: list[Sample], trials: list[Trial], config: VerificationConfig) -> list[float]:
    """Lever, not shipped: SFace distance divided by the 5-NN cohort spread (as dlib's score)."""
    normalised = VerificationConfig(min_cohort_size=config.cohort_k)
    identities = np.array([s.identity for s in samples])
    has = np.array([s.sface is not None for s in samples])
    vectors = _matrix(samples, SFACE)
    out = []
    for trial in trials:
        a, b = samples[trial.template_ids[0]].identity, samples[trial.probe_ids[0]].identity
        cohort = vectors[has & (identities != a) & (identities != b)]
        probes, templates = vectors[list(trial.probe_ids)], vectors[list(trial.template_ids)]
        out.append(verify(probes, templates, cohort=cohort, config=normalised).score)
    return out


def _by_identity(samples: list[Sample], indices: list[int]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(samples[i].identity, []).append(i)
    return groups


def _rotations(members: list[int], size: int) -> list[tuple[int, tuple[int, ...]]]:
    """For each member, the next ``size`` members (cyclic) as its companions."""
    n = len(members)
    return [(members[p], tuple(members[(p + k) % n] for k in range(1, size + 1))) for p in range(n)]


def multi_enrol_trials(samples: list[Sample], indices: list[int], size: int = 3) -> tuple[list[Trial], list[Trial]]:
    """(one enrolment photo, `size` enrolment photos) trials on the same probes."""
    groups = _by_identity(samples, indices)
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


def fusion_trials(samples: list[Sample], indices: list[int], frames: int = 3) -> tuple[list[Trial], list[Trial]]:
    """(one probe frame, `frames` probe photos of one person) against one template."""
    groups = _by_identity(samples, indices)
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
            probes = (sets[0][0], *sets[0][1][: frames - 1])
            for template in members:
                one.append(Trial((template,), probes[:1], False))
                many.append(Trial((template,), probes, False))
    return one, many


# --- rows ----------------------------------------------------------------------------------------


def fused_score(dlib: MatchResult, sface: MatchResult, configs: EvalConfigs) -> float:
    """Lever, not shipped: the mean of each model's shipped score in units of its own match threshold (1 = both at it)."""
    d = dlib.score / model_decision.threshold_of(DLIB, dlib, configs.dlib)
    s = sface.score / model_decision.threshold_of(SFACE, sface, configs.sface)
    return 0.5 * (d + s)


FUSED_THRESHOLD = 1.0  # the natural point (each score at its own shipped threshold); not tuned


def _row(genuine: np.ndarray, scores: np.ndarray, accepted: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """summarise() of the score plus FMR / FNMR of the decision (accepted = match)."""
    row = summarise(scores[genuine], scores[~genuine])
    if threshold is not None:
        row["threshold"] = threshold
        row["fmr_at_threshold"] = float(accepted[~genuine].mean()) if (~genuine).any() else None
        row["fnmr_at_threshold"] = float(1 - accepted[genuine].mean()) if genuine.any() else None
    return row


def model_rows(scored: Scored, configs: EvalConfigs, label: str) -> dict[str, dict[str, Any]]:
    """dlib, SFace and fused rows of one trial list (both models decided on the same trials)."""
    genuine = np.array([t.genuine for t in scored.trials])
    rows: dict[str, dict[str, Any]] = {}
    for model in (DLIB, SFACE):
        results = scored.results[model]
        scores = np.array([r.score for r in results])
        accepted = np.array([r.decision == "match" for r in results])
        # dlib's normalised threshold applies once the cohort is large enough (every pair of a full set).
        ordered = sorted(results, key=lambda r: not r.normalised)
        threshold = model_decision.threshold_of(model, ordered[0], configs.of(model)) if results else None
        rows[f"{label} / {model}"] = _row(genuine, scores, accepted, threshold)
        if model == DLIB:
            rows[f"{label} / {model}"]["without_cohort"] = sum(not r.normalised for r in results)
    fused = np.array(
        [fused_score(d, s, configs) for d, s in zip(*(scored.results[m] for m in (DLIB, SFACE)), strict=True)]
    )
    rows[f"{label} / {FUSED}"] = _row(genuine, fused, fused <= FUSED_THRESHOLD, FUSED_THRESHOLD)
    return rows


def decide_both(samples: list[Sample], trials: list[Trial], configs: EvalConfigs) -> Scored:
    """The trials decided by dlib and by SFace."""
    scored = Scored(trials)
    for model in (DLIB, SFACE):
        scored.results[model] = decide_trials(samples, trials, model, configs.of(model))
    return scored


def shipped_decisions(samples: list[Sample], configs: EvalConfigs) -> tuple[list[Trial], np.ndarray, list[str]]:
    """Every pair the service would decide: the template photo enrolled (dlib acquired); when it has an SFace
    vector SFace decides against the probe's SFace-only check (a probe it refuses is left out), else dlib
    decides against the probe's dlib vector (a probe dlib refuses is left out)."""
    trials, deciding, accepted, legacy = [], [], [], []
    for i, j in itertools.combinations(range(len(samples)), 2):
        template, probe = samples[i], samples[j]
        if template.encoding is None:
            continue
        trial = Trial((i,), (j,), template.identity == probe.identity)
        if template.sface is not None and probe.check is not None:
            result = model_decision.decide(SFACE, probe.check, [template.sface], cohort=None, config=configs.sface)
            trials.append(trial)
            deciding.append(SFACE)
            accepted.append(result.decision == "match")
        elif template.sface is None and probe.encoding is not None:
            legacy.append(trial)
    for trial, result in zip(legacy, decide_trials(samples, legacy, DLIB, configs.dlib), strict=True):
        trials.append(trial)
        deciding.append(DLIB)
        accepted.append(result.decision == "match")
    return trials, np.array(accepted, dtype=bool), deciding


def _pair_key(samples: list[Sample], trial: Trial) -> dict[str, str]:
    """The subgroup keys of a pair: population, photo quality and photo size."""
    a, b = samples[trial.template_ids[0]], samples[trial.probe_ids[0]]
    kind = "genuine" if trial.genuine else "impostor"
    group = a.group if a.group == b.group else "mixed groups"
    quality = (
        "both pass the quality gates" if not (a.quality_reasons or b.quality_reasons) else "a photo below the gates"
    )
    small = min(a.long_side, b.long_side) <= TIGHT_CROP_SIDE
    size = f"a photo ≤ {TIGHT_CROP_SIDE} px (tight face crop)" if small else f"both photos > {TIGHT_CROP_SIDE} px"
    return {"group": f"{kind}: {group}", "quality": f"{kind}: {quality}", "size": f"{kind}: {size}"}


def subgroups(samples: list[Sample], trials: list[Trial], accepted: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Per subgroup: pair count and, per model, FNMR (genuine rows) or FMR (impostor rows) of the decision."""
    members: dict[str, list[int]] = {}
    for n, trial in enumerate(trials):
        for key in _pair_key(samples, trial).values():
            members.setdefault(key, []).append(n)
    out: dict[str, dict[str, Any]] = {}
    for key, rows in sorted(members.items()):
        idx = np.array(rows)
        genuine = key.startswith("genuine")
        row: dict[str, Any] = {"pairs": len(rows), "rate": "fnmr" if genuine else "fmr"}
        for model, acc in accepted.items():
            row[model] = float(1 - acc[idx].mean()) if genuine else float(acc[idx].mean())
        out[key] = row
    return out


def _fusion_levers(samples: list[Sample], indices: list[int], configs: EvalConfigs) -> dict[str, dict[str, Any]]:
    """Three probe photos fused (mean, as shipped, and min) against one template, and their 1-frame baseline."""
    one, many = fusion_trials(samples, indices)
    rows = model_rows(decide_both(samples, one, configs), configs, "fusion baseline: 1 probe")
    for how in ("mean", "min"):
        fused = EvalConfigs(replace(configs.dlib, probe_fusion=how), replace(configs.sface, probe_fusion=how))
        rows |= model_rows(decide_both(samples, many, fused), configs, f"fusion: 3 probe photos ({how})")
    return rows


def levers(samples: list[Sample], indices: list[int], configs: EvalConfigs, pairs: Scored) -> dict[str, dict[str, Any]]:
    """Measured alternatives to the shipped 1-vs-1 decision (none of them shipped), on photos both models acquired."""
    genuine = np.array([t.genuine for t in pairs.trials])
    rows: dict[str, dict[str, Any]] = {}
    raw = decide_trials(samples, pairs.trials, DLIB, configs.dlib, cohort=False)
    raw_scores = np.array([r.score for r in raw])
    accepted = np.array([r.decision == "match" for r in raw])
    rows["1 vs 1 / dlib without a cohort (raw thresholds)"] = _row(
        genuine, raw_scores, accepted, configs.dlib.raw_match_threshold
    )
    normalised = np.array(sface_cohort_scores(samples, pairs.trials, configs.sface))
    rows["1 vs 1 / sface cohort-normalised (score only)"] = _row(genuine, normalised, normalised < 0, None)
    one, many = multi_enrol_trials(samples, indices)
    rows |= model_rows(decide_both(samples, one, configs), configs, "multi-enrol baseline: 1 photo")
    rows |= model_rows(decide_both(samples, many, configs), configs, "multi-enrol: 3 photos")
    rows |= _fusion_levers(samples, indices, configs)
    return rows


def _files(samples: list[Sample], directory: Path, attr: str) -> dict[str, Any]:
    values = {os.path.relpath(s.path, directory): getattr(s, attr) for s in samples if getattr(s, attr)}
    return {"count": len(values), "files": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}


def _target(population: str, shipped: dict[str, Any]) -> dict[str, Any]:
    fmr_max, fnmr_max = TARGETS[population]
    met = shipped["fmr_at_threshold"] <= fmr_max and shipped["fnmr_at_threshold"] <= fnmr_max
    return {"population": population, "fmr_max": fmr_max, "fnmr_max": fnmr_max, "met": bool(met)}


def run_eval(
    directory: str | Path,
    *,
    configs: EvalConfigs | None = None,
    population: str | None = None,
    with_levers: bool = True,
    processes: int = 2,
) -> dict[str, Any]:
    """Encode every photo once with both models, decide all pairs as the service would, report.

    population: "east_asian" when the whole folder is East-Asian (``east_asian/``); else subgroups come from
    the folder layout (impostors_single/ and Jacky_Cheung are East-Asian) and the mixed-set target applies.
    """
    configs = configs or EvalConfigs.defaults()
    directory = Path(directory)
    started = time.perf_counter()
    samples = list_samples(directory, population=population)
    encode_samples(samples, config=configs.dlib, processes=processes)
    encode_seconds = time.perf_counter() - started
    both = usable(samples, (DLIB, SFACE))
    pairs = decide_both(samples, pair_trials(samples, both), configs)
    models = model_rows(pairs, configs, "1 vs 1")
    trials, accepted, deciding = shipped_decisions(samples, configs)
    genuine = np.array([t.genuine for t in trials])
    shipped: dict[str, Any] = {
        "genuine_pairs": int(genuine.sum()),
        "impostor_pairs": int((~genuine).sum()),
        "fmr_at_threshold": float(accepted[~genuine].mean()),
        "fnmr_at_threshold": float(1 - accepted[genuine].mean()),
    }
    shipped |= {"decided_by_sface": deciding.count(SFACE), "decided_by_dlib": deciding.count(DLIB)}
    models[SHIPPED_ROW] = shipped
    result: dict[str, Any] = {
        "directory": str(directory),
        "population": population or "mixed",
        "photos": len(samples),
        "identities": len({s.identity for s in samples}),
        "acquired": {"dlib": len(usable(samples, (DLIB,))), "sface": len(usable(samples, (SFACE,))), "both": len(both)},
        "failed_to_acquire": _files(samples, directory, "failure"),
        "sface_failed": _files(samples, directory, "sface_failure"),
        "below_quality": _files(samples, directory, "quality_reasons"),
        "check_failed_to_acquire": _files(samples, directory, "check_failure"),
        "check_below_quality": _files(samples, directory, "check_quality"),
        "models": models,
        "target": _target(population or "mixed", shipped),
        "subgroups": subgroups(samples, trials, {"shipped": accepted}),
    }
    result["subgroups_by_model"] = _subgroups_by_model(samples, pairs, configs)
    if with_levers:
        result["levers"] = levers(samples, both, configs, pairs)
    result["seconds"] = {"encode": encode_seconds, "total": time.perf_counter() - started}
    result["_curves"] = _curves(pairs, configs)
    return result


def _accepted(scored: Scored, configs: EvalConfigs) -> dict[str, np.ndarray]:
    out = {m: np.array([r.decision == "match" for r in scored.results[m]]) for m in (DLIB, SFACE)}
    fused = [fused_score(d, s, configs) for d, s in zip(scored.results[DLIB], scored.results[SFACE], strict=True)]
    out[FUSED] = np.array(fused) <= FUSED_THRESHOLD
    return out


def _subgroups_by_model(samples: list[Sample], pairs: Scored, configs: EvalConfigs) -> dict[str, dict[str, Any]]:
    """Subgroup rates of dlib, SFace and fused on the pairs both models acquired."""
    return subgroups(samples, pairs.trials, _accepted(pairs, configs))


def _curves(pairs: Scored, configs: EvalConfigs) -> dict[str, Any]:
    """Genuine and impostor scores of each model and the operating point of its decision (for the DET plot)."""
    genuine = np.array([t.genuine for t in pairs.trials])
    accepted = _accepted(pairs, configs)
    scores = {m: np.array([r.score for r in pairs.results[m]]) for m in (DLIB, SFACE)}
    scores[FUSED] = np.array(
        [fused_score(d, s, configs) for d, s in zip(pairs.results[DLIB], pairs.results[SFACE], strict=True)]
    )
    return {
        m: {
            "genuine": scores[m][genuine],
            "impostor": scores[m][~genuine],
            "point": (float(accepted[m][~genuine].mean()), float(1 - accepted[m][genuine].mean())),
        }
        for m in scores
    }


CURVE_LABELS = {
    DLIB: "dlib (cohort-normalised, shipped)",
    SFACE: "SFace (raw cosine, shipped)",
    FUSED: "fused dlib+SFace (lever)",
}


def plot_det(results: list[dict[str, Any]], path: Path) -> None:
    """DET curves (FNMR against FMR, log axes) of dlib, SFace and fused, one panel per evaluated folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 5), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        for model, curve in result["_curves"].items():
            fmr, fnmr = det_curve(curve["genuine"], curve["impostor"])
            line = ax.plot(np.clip(fmr, 1e-5, 1), np.clip(fnmr, 1e-4, 1), label=CURVE_LABELS[model])[0]
            x, y = curve["point"]
            ax.plot([max(x, 1e-5)], [max(y, 1e-4)], "o", color=line.get_color())
        fmr_max, fnmr_max = TARGETS[result["population"]]
        ax.plot([1e-5, fmr_max], [fnmr_max, fnmr_max], color="red", linestyle="--", linewidth=1, label="target")
        ax.axvline(fmr_max, color="red", linestyle="--", linewidth=1)
        ax.set(xscale="log", yscale="log", xlabel="false match rate (FMR)", ylabel="false non-match rate (FNMR)")
        row = result["models"]["1 vs 1 / dlib"]
        name = "East-Asian set" if result["population"] == "east_asian" else "mixed set"
        pairs = f"{row['genuine_pairs']} genuine, {row['impostor_pairs']} impostor pairs"
        ax.set_title(f"{name} ({Path(result['directory']).name}/): {pairs}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle("DET, 1 enrolment photo vs 1 probe; dots = the shipped thresholds", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def jsonable(result: dict[str, Any]) -> dict[str, Any]:
    """The result without the plot data."""
    return {k: v for k, v in result.items() if not k.startswith("_")}


def _pct(value: Any) -> str:
    return "   n/a" if value is None else f"{100 * value:6.2f}%"


def _table(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        f"{'trials / model':62s} {'gen':>5s} {'imp':>6s} {'EER':>7s} {'FNMR@1%':>8s} {'FNMR@.1%':>8s} "
        f"{'t@.1%':>7s} {'t':>6s} {'FMR@t':>7s} {'FNMR@t':>7s}"
    ]
    for name, row in rows.items():
        at = (
            f"{row['threshold']:6.3f} {_pct(row['fmr_at_threshold']):>7s} {_pct(row['fnmr_at_threshold']):>7s}"
            if "threshold" in row
            else f"{'':6s} {_pct(row.get('fmr_at_threshold')):>7s} {_pct(row.get('fnmr_at_threshold')):>7s}"
        )
        lines.append(
            f"{name:62s} {row['genuine_pairs']:5d} {row['impostor_pairs']:6d} {_pct(row.get('eer')):>7s} "
            f"{_pct(row.get('fnmr_at_fmr_1pct')):>8s} {_pct(row.get('fnmr_at_fmr_0_1pct')):>8s} "
            f"{row.get('threshold_at_fmr_0_1pct', float('nan')):7.3f} {at}"
        )
    return lines


def format_report(result: dict[str, Any]) -> str:
    """Human-readable text of a run_eval result."""
    acquired, target = result["acquired"], result["target"]
    lines = [
        f"Face verification on {result['directory']} ({result['population']}): {result['photos']} photos, "
        f"{result['identities']} identities; acquired dlib {acquired['dlib']}, SFace {acquired['sface']}, "
        f"both {acquired['both']}",
        f"dlib path (enrolment, legacy probes): failed to acquire {result['failed_to_acquire']['count']}; "
        f"no SFace face: {result['sface_failed']['count']}; below quality (still scored): "
        f"{result['below_quality']['count']}",
        f"SFace-only probe check (no dlib): failed to acquire {result['check_failed_to_acquire']['count']}; "
        f"below quality (refused with advice in the service, still scored here): "
        f"{result['check_below_quality']['count']}",
        "",
        *_table(result["models"]),
        "",
        f"target ({target['population']}): FMR ≤ {100 * target['fmr_max']:.1f}% and FNMR ≤ "
        f"{100 * target['fnmr_max']:.0f}% with the shipped decision: {'met' if target['met'] else 'NOT met'}",
    ]
    if "levers" in result:
        lines += ["", "levers (not shipped), photos both models acquired:", *_table(result["levers"])]
    lines += ["", "subgroups, 1 vs 1 (FNMR for genuine rows, FMR for impostor rows):"]
    by_model = result["subgroups_by_model"]
    shipped = result["subgroups"]
    lines.append(f"  {'subgroup':52s} {'pairs':>6s} {'dlib':>8s} {'sface':>8s} {'fused':>8s}   {'shipped':>8s}")
    for key, row in by_model.items():
        ship = shipped.get(key, {}).get("shipped")
        lines.append(
            f"  {key:52s} {row['pairs']:6d} {_pct(row[DLIB]):>8s} {_pct(row[SFACE]):>8s} {_pct(row[FUSED]):>8s}   "
            f"{_pct(ship):>8s}"
        )
    lines.append(f"time: encode {result['seconds']['encode']:.1f} s, total {result['seconds']['total']:.1f} s")
    return "\n".join(lines)
