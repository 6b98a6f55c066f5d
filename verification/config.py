"""Every threshold and limit of face verification, with where each default comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VerificationConfig:
    """Thresholds and limits; the API builds one from its settings, tests and eval use the defaults."""

    # Input limits.
    max_image_bytes: int = 15 * 1024 * 1024  # phone JPEGs are 2-8 MB; room for HEIC->JPEG exports
    max_image_pixels: int = 40_000_000  # refuses bombs, allows 12-24 MP phone shots

    # Detection.
    detect_max_side: int = 640  # bench: HOG time grows with area; a selfie face stays > 100 px wide at 640
    upsample: int = 0  # faces in selfies are large; upsampling costs ~4x (bench)
    small_image_side: int = 400  # below this long side nothing found -> retry with padding + upsample
    small_image_pad: float = 0.5  # pad each side by half the size: tight 112x112 crops then look like photos
    small_image_upsample: int = 2  # SOURCES.csv: pad + 2x upsample recovers 10 of 18 tight crops
    choose_dominant_face: bool = True  # SOURCES.csv: 3 identity photos show a small bystander
    dominant_face_area_ratio: float = 2.0  # measured: bystander 2.1x (Ariel_Sharon/4); pairs 1.1-1.3x
    encode_max_side: int = 1600  # bench: encoding on >1600 px gains nothing (dlib crops a 150 px chip)

    # Quality gates (measured on the face crop).
    min_inter_eye_px: float = 28.0  # identities/: median 38 px, 1st percentile 27 px
    blur_crop_side: int = 128  # Laplacian computed on the face resized to this side: resolution-independent
    min_laplacian_var: float = 40.0  # identities/: median 166, 5th percentile 40
    min_face_luminance: float = 50.0  # mean grey level 0-255 of the face; dark LFW faces are ~70
    max_face_luminance: float = 215.0  # overexposed faces lose texture above ~215
    max_clipped_fraction: float = 0.25  # share of face pixels at <=5 or >=250
    # pose.py's yaw now reads the visual angle (photos judged by eye, docs/liveness_actions_measured.md); the
    # old solvePnP yaw read ~1.5x it and was gated at 40, i.e. ~27 deg. Photos of ../shared/faces refused:
    # 47 of 480 (old gate 23, 21 of them in common).
    max_yaw_deg: float = 27.0
    max_pitch_deg: float = 30.0  # identities/: 99th percentile |pitch| is 28 deg on mostly level news photos

    # Encoding.
    enrol_num_jitters: int = 1  # 10 jitters: ~1 s more per photo, no gain once normalised (docs/accuracy.md)
    probe_num_jitters: int = 1  # probes are fused over several frames instead

    # Decision on the cohort-normalised score (distance / mean 5-NN cohort distance), docs/accuracy.md.
    cohort_k: int = 5  # 5 nearest cohort faces per side
    min_cohort_size: int = 20  # fewer than this: fall back to raw distance and raw thresholds
    match_threshold: float = 0.90  # FMR 0.1% at 0.907 on /work/shared/faces, rounded down (docs/accuracy.md)
    retry_threshold: float = 0.99  # FMR 1% at 0.994: between the two, ask for another selfie
    use_rank_guard: bool = False  # measured: costs genuine users, stops no extra impostor (docs/accuracy.md)
    # Raw dlib distance thresholds, used only without a cohort.
    raw_match_threshold: float = 0.51  # FMR 0.1% at 0.515 on raw distance (docs/accuracy.md)
    raw_retry_threshold: float = 0.60  # FMR 1% at 0.637 on raw distance; the library's 0.6
    # A normalised score can look good when the cohort is unlike the pair (measured: an East-Asian
    # impostor pair against a Western-only cohort); never match above the library's own tolerance.
    max_raw_distance: float = 0.60  # measured: FNMR +0.6 pt at match_threshold, FMR 0.082% -> 0.067%
    probe_fusion: str = "mean"  # "mean" or "min" of per-frame distances; measured in docs/accuracy.md

    # Rolling templates.
    rolling_update_margin: float = 0.10  # only add a selfie whose score is this far inside match_threshold
    max_rolling_templates: int = 5  # keep the newest five next to the enrolment anchor(s)
