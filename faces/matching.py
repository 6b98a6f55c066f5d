"""Which face model decides for a pensioner, with which thresholds, against which templates.

A pensioner with an SFace template is decided by SFace (raw cosine thresholds, no cohort: measured not to
help, docs/face_models_measured.md); one with only dlib templates keeps the dlib decision as before
(cohort-normalised). Templates are only ever compared with probes of their own model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import KeyRing, decrypt_encoding
from core.settings import Settings
from faces.errors import NotEnrolled
from models import FaceTemplate
from models.enums import TemplateKind
from verification import model_decision
from verification.config import VerificationConfig
from verification.matching import MatchResult
from verification.model_decision import DLIB, SFACE

COHORT_SIZE = 200


@dataclass(frozen=True)
class ModelMatch:
    """A match result and the model that produced it."""

    model: str
    result: MatchResult


def active_models(settings: Settings) -> tuple[str, ...]:
    """The models that get a template at enrolment, in settings order."""
    names = tuple(m.strip() for m in settings.face_models.split(",") if m.strip())
    unknown = set(names) - {DLIB, SFACE}
    if unknown or not names:
        raise ValueError(f"PENSION_CERT_FACE_MODELS: unknown or empty model list {settings.face_models!r}")
    return names


def verification_config(settings: Settings) -> VerificationConfig:
    """The dlib thresholds and quality gates, with the service's upload limits."""
    return VerificationConfig(
        max_image_bytes=settings.max_upload_bytes,
        max_image_pixels=settings.max_image_pixels,
        match_threshold=settings.face_match_threshold,
        retry_threshold=settings.face_retry_threshold,
        raw_match_threshold=settings.face_raw_match_threshold,
        raw_retry_threshold=settings.face_raw_retry_threshold,
        max_raw_distance=settings.face_max_raw_distance,
        min_inter_eye_px=settings.face_min_inter_eye_px,
        min_laplacian_var=settings.face_min_laplacian_var,
        min_face_luminance=settings.face_min_luminance,
        max_face_luminance=settings.face_max_luminance,
        max_clipped_fraction=settings.face_max_clipped_fraction,
        max_yaw_deg=settings.face_max_yaw_deg,
        max_pitch_deg=settings.face_max_pitch_deg,
        max_rolling_templates=settings.face_max_rolling_templates,
    )


def model_config(settings: Settings, model: str) -> VerificationConfig:
    """The decision configuration of one model."""
    return model_decision.model_config(
        verification_config(settings),
        model,
        sface_match_distance=settings.face_sface_match_distance,
        sface_retry_distance=settings.face_sface_retry_distance,
    )


def templates_of(
    *, session: Session, ring: KeyRing, pensioner_id: int, model: str | None = None
) -> list[tuple[FaceTemplate, np.ndarray]]:
    """The pensioner's templates (of one model, or all), decrypted, oldest first."""
    stmt = select(FaceTemplate).where(FaceTemplate.pensioner_id == pensioner_id)
    if model is not None:
        stmt = stmt.where(FaceTemplate.model == model)
    rows = session.scalars(stmt.order_by(FaceTemplate.id)).all()
    return [(t, decrypt_encoding(ring, t.encoding, key_id=t.key_id, pensioner_id=pensioner_id)) for t in rows]


def _cohort(*, session: Session, ring: KeyRing, pensioner_id: int) -> np.ndarray | None:
    """Anchors of other pensioners enrolled with dlib (the cohort that normalises dlib scores)."""
    rows = session.execute(
        select(FaceTemplate.pensioner_id, FaceTemplate.encoding, FaceTemplate.key_id)
        .where(
            FaceTemplate.kind == TemplateKind.ANCHOR.value,
            FaceTemplate.model == DLIB,
            FaceTemplate.pensioner_id != pensioner_id,
        )
        .order_by(FaceTemplate.id)
        .limit(COHORT_SIZE)
    ).all()
    if not rows:
        return None
    return np.stack([decrypt_encoding(ring, blob, key_id=kid, pensioner_id=pid) for pid, blob, kid in rows])


def deciding_model(*, session: Session, pensioner_id: int, available: set[str]) -> str:
    """SFace when the pensioner has an SFace template and the probe has an SFace vector; otherwise dlib."""
    models = set(session.scalars(select(FaceTemplate.model).where(FaceTemplate.pensioner_id == pensioner_id)))
    if not models:
        raise NotEnrolled()
    for model in (SFACE, DLIB):
        if model in models and model in available:
            return model
    raise NotEnrolled()


def probe_models(*, session: Session, settings: Settings, pensioner_id: int) -> tuple[str, ...]:
    """The models a probe photo of this pensioner needs: SFace alone when SFace decides (dlib is not run);
    every active model when dlib decides (SFace's vector may become the first SFace template)."""
    active = active_models(settings)
    if deciding_model(session=session, pensioner_id=pensioner_id, available=set(active)) == SFACE:
        return (SFACE,)
    return active


def match(
    *, session: Session, settings: Settings, pensioner_id: int, probes: dict[str, list[np.ndarray]]
) -> ModelMatch:
    """Probe vectors (by model) against the pensioner's templates of the deciding model."""
    model = deciding_model(session=session, pensioner_id=pensioner_id, available={m for m, v in probes.items() if v})
    ring = KeyRing.from_settings(settings)
    templates = [enc for _, enc in templates_of(session=session, ring=ring, pensioner_id=pensioner_id, model=model)]
    cohort = _cohort(session=session, ring=ring, pensioner_id=pensioner_id) if model == DLIB else None
    result = model_decision.decide(model, probes[model], templates, cohort=cohort, config=model_config(settings, model))
    return ModelMatch(model, result)


def comfortable(*, settings: Settings, model: str, result: MatchResult) -> bool:
    """A match far enough inside the threshold to become a rolling template (never a borderline one)."""
    return model_decision.comfortable(model, result, model_config(settings, model))
