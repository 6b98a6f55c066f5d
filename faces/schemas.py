"""Response bodies for enrolment, face checks and kept evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.enums import AppDecision, AppReason, AttemptDecision
from verification import quality
from verification.errors import MESSAGES as VERIFICATION_MESSAGES
from verification.liveness import ACTIONS
from verification.liveness import ADVICE as LIVENESS_ADVICE

# Every reason code a face or liveness answer can carry (published in OpenAPI; app teams switch on them).
_MATCH_REASONS = ("no_cohort", "closer_to_other_person", "raw_distance_too_large", "borderline_score")
_SEQUENCE_REASONS = ("wrong_order", "static_sequence", "no_good_frame", "person_switch")
REASON_CODES: list[Any] = sorted(
    {
        *quality.ADVICE,
        *VERIFICATION_MESSAGES,
        *LIVENESS_ADVICE,
        *_MATCH_REASONS,
        "score_above_threshold",
        *_SEQUENCE_REASONS,
        *(f"action_missing:{action}" for action in ACTIONS),
        *(r.value for r in AppReason),
        AppDecision.PRESENTATION_ATTACK.value,
    }
)


def reasons_field(description: str) -> Any:
    """A list of reason codes, their values published as an enum in OpenAPI."""
    return Field(description=description, json_schema_extra={"items": {"type": "string", "enum": REASON_CODES}})


class AdviceOut(BaseModel):
    """What the person can do about one reason, in Chinese and English."""

    reason: str = Field(json_schema_extra={"enum": REASON_CODES})
    zh: str
    en: str


class EnrolmentOut(BaseModel):
    """The anchor templates made from the reference photos."""

    pensioner_id: int
    templates: list[int]
    source: str


class FaceCheckOut(BaseModel):
    """The answer of one 1:1 check (the attempt is stored)."""

    attempt_id: int
    decision: AttemptDecision
    distance: float | None
    score: float | None
    reasons: list[str] = reasons_field("why the check decided so (REASON_CODES)")
    advice: list[AdviceOut]
    rolling_template_added: bool


class TemplatesDeletedOut(BaseModel):
    """How many templates were deleted."""

    deleted: int


class EvidenceOut(BaseModel):
    """Metadata of a kept piece of evidence."""

    id: int
    kind: str
    content_type: str
    created_at: datetime
    purge_after: datetime | None


class VerificationOut(BaseModel):
    """One stored face-verification result (no image exists to show)."""

    id: int
    at: datetime
    channel: str
    decision: AttemptDecision
    distance: float | None
    score: float | None
    reasons: list[Any]
    staff_id: int | None


class ExemptionsIn(BaseModel):
    """Liveness actions the person cannot perform, and why (recorded by staff who saw them)."""

    actions: list[Literal["open_mouth", "turn_left", "turn_right"]] = Field(max_length=3)
    reason: str = Field(min_length=2, max_length=500)


class ExemptionsOut(BaseModel):
    """The actions now left out of this pensioner's challenges (a blink is always asked)."""

    pensioner_id: int
    actions: list[str]
