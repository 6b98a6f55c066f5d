"""Request and response bodies for seasons, certifications and the app's liveness answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from faces.schemas import AdviceOut, reasons_field
from models.enums import AppDecision, CertificationChannel

LivenessAction = Literal["blink", "open_mouth", "turn_left", "turn_right"]  # verification.liveness.ACTIONS


class SeasonIn(BaseModel):
    """A new season; dates default to settings (1 April – 30 June)."""

    year: int = Field(ge=2000, le=2100)
    open_date: date | None = None
    close_date: date | None = None
    grace_days: int | None = Field(default=None, ge=0, le=366)


class SeasonOut(BaseModel):
    """A season."""

    model_config = ConfigDict(from_attributes=True)

    year: int
    open_date: date
    close_date: date
    grace_days: int
    suspend_from_date: date


class WindowIn(BaseModel):
    """A region's own close date for a season."""

    region_code: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    close_date: date
    grace_days: int | None = Field(default=None, ge=0, le=366)


class WindowOut(BaseModel):
    """A regional window."""

    model_config = ConfigDict(from_attributes=True)

    region_code: str
    close_date: date
    grace_days: int
    suspend_from_date: date
    suspensions_lifted: int = Field(
        default=0, description="People suspended before the new date and back inside the window: reinstated now"
    )


class CounterCertificationIn(BaseModel):
    """A pensioner who showed up at a counter."""

    national_id: str = Field(min_length=15, max_length=18)
    attempt_id: int | None = Field(
        default=None, ge=1, description="The matched face check made at the counter (POST …/face-verifications)"
    )


class CertificationOut(BaseModel):
    """A recorded certification."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pensioner_id: int
    season_year: int
    channel: str
    source: str | None
    certified_at: datetime
    office_region_code: str | None
    attempt_id: int | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by_staff_id: int | None = None
    withdrawal_reason: str | None = None


class CounterCertificationOut(CertificationOut):
    """The season's certification; `already_certified` when it existed before (with a bilingual note)."""

    already_certified: bool
    message: str
    message_en: str


class WithdrawalIn(BaseModel):
    """A supervisor's withdrawal of a certification: the reason is required and kept."""

    reason: str = Field(min_length=4, max_length=500)


class MyCertificationOut(BaseModel):
    """The pensioner's certification status for the current season."""

    status: Literal["certified", "pending", "on_hold", "suspended", "terminated", "no_season"]
    season_year: int | None
    deadline: date | None
    days_left: int | None
    channel: CertificationChannel | None
    certified_at: datetime | None
    suspended_from: date | None = Field(default=None, description="suspended: the first unpaid month")
    back_pay_months: int | None = Field(
        default=None, description="suspended: months of pension paid back if certified today (reinstatement rule)"
    )
    message: str
    message_en: str


class CaptureOut(BaseModel):
    """What the app must record to answer a challenge.

    Send the camera's own (unmirrored) image, or send the mirrored selfie preview with the form field
    `mirrored=true` on `POST /me/certifications`: turn_left / turn_right are the person's own directions.
    """

    frame_rate: int
    min_frames: int
    max_frames: int
    max_side_px: int
    frame_format: str
    max_frame_bytes: int
    video_formats: list[str]
    max_video_bytes: int
    max_video_seconds: int


class ChallengeOut(BaseModel):
    """A liveness challenge: the actions to perform on camera, in order, before it expires."""

    challenge_id: str
    actions: list[LivenessAction]
    expires_at: str = Field(description="ISO 8601 with offset")
    capture: CaptureOut


class StepOut(BaseModel):
    """One challenged action: whether it was seen, and where (frame index, time in ms)."""

    action: LivenessAction
    detected: bool
    start_index: int | None
    peak_index: int | None
    end_index: int | None
    peak_ms: int | None


class AppCertificationRef(BaseModel):
    """The certification an app answer recorded."""

    id: int
    season_year: int
    channel: str
    certified_at: str = Field(description="ISO 8601 with offset")


class AppAnswerOut(BaseModel):
    """The decision on a liveness answer, with reasons and advice (stored for Idempotency-Key replays)."""

    decision: AppDecision
    reasons: list[str] = reasons_field("face, liveness and app reasons of the decision")
    advice: list[AdviceOut]
    steps: list[StepOut]
    certification: AppCertificationRef | None
    attempt_id: int | None


class AppCertificationOut(AppAnswerOut):
    """The answer, and whether it is the replay of an earlier identical request."""

    replayed: bool


class MeOut(BaseModel):
    """The logged-in pensioner's own record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    national_id_masked: str
    pension_status: str
    status_since: date | None
    acting: Literal["self", "family_helper"] = Field(
        default="self", description="family_helper: the login code went to the family phone; pages say whose it is"
    )
    helper_phone_masked: str | None = None


class ChallengeIn(BaseModel):
    """Actions the pensioner cannot perform (accessibility)."""

    without: list[str] = Field(default_factory=list, max_length=4)


class ReceiptOut(BaseModel):
    """The certification receipt (领取养老金资格认证回执): what the page and the PDF show."""

    certification_id: int
    season_year: int
    certified_at: datetime
    channel: CertificationChannel
    name: str
    national_id_masked: str
    verification_code: str = Field(description="XXXXX-XXXXX, keyed to this certification; staff check it")
    verification_url: str = Field(description="The page where staff check the receipt (GET /api/v1/receipts/{id})")


class ReceiptCheckOut(BaseModel):
    """A receipt checked by staff: valid (the code matches a certification not withdrawn) and what it says."""

    valid: bool
    withdrawn: bool = False
    certification_id: int | None = None
    season_year: int | None = None
    certified_at: datetime | None = None
    channel: CertificationChannel | None = None
    name_masked: str | None = None
    national_id_masked: str | None = None
