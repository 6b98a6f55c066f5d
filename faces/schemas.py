"""Response bodies for enrolment, face checks and kept evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class AdviceOut(BaseModel):
    """What the person can do about one reason, in Chinese and English."""

    reason: str
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
    decision: str
    distance: float | None
    score: float | None
    reasons: list[str]
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
    decision: str
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
