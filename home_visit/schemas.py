"""Pydantic shapes of the home-visit API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.enums import HomeVisitReason, HomeVisitTaskStatus, VisitOutcome


class TaskOut(BaseModel):
    """One task as the field app and supervisors see it."""

    id: int
    season_year: int
    status: str
    reason: HomeVisitReason
    reason_label: str
    reason_label_en: str
    due_date: date
    overdue: bool
    escalated_at: datetime | None
    assigned_staff_id: int | None
    closed_at: datetime | None = None
    close_reason: str | None = None
    pensioner_id: int
    name: str
    national_id_masked: str
    sex: str
    birth_date: date
    bedridden: bool
    limited_mobility: bool
    address: str
    address_street: str | None = None
    address_house: str | None = None
    address_landmark: str | None = None
    target_latitude: float | None = Field(
        default=None, description="the house's position when known, else the community's"
    )
    target_longitude: float | None = None
    target_source: Literal["house", "community"] | None = None
    region_code: str
    phone: str | None
    family_phone: str | None
    note: str | None = None


class OutcomeOut(BaseModel):
    """One value of the visit outcome list, with what it needs."""

    value: VisitOutcome
    label: str
    label_en: str
    needs_photo: bool
    needs_form_scan: bool
    needs_death_date: bool
    needs_new_region: bool


class HelpRequestIn(BaseModel):
    """A help request (the app or a logged phone call)."""

    note: str | None = Field(default=None, max_length=500)


class HomeVisitStatusOut(BaseModel):
    """The pensioner's home visit this season: none, booked (open, with the date staff will call by), done or cancelled."""

    requested: bool
    task_id: int | None = None
    season_year: int | None = None
    status: HomeVisitTaskStatus | None = None
    reason: HomeVisitReason | None = None
    due_date: date | None = None
    message: str
    message_en: str


class HelpRequestOut(BaseModel):
    """The season's task after a help request."""

    model_config = ConfigDict(from_attributes=True)

    task_id: int
    season_year: int
    status: str
    due_date: date
    message: str
    message_en: str


class AssignIn(BaseModel):
    """A supervisor's reassignment."""

    staff_id: int = Field(ge=1, le=2_147_483_647)
    appointment_date: date | None = Field(
        default=None, description="The visit date texted to the pensioner (default: the task's due date)"
    )


class TakeIn(BaseModel):
    """A field worker takes a task; optionally with the agreed visit date."""

    appointment_date: date | None = Field(
        default=None, description="The visit date texted to the pensioner (default: the task's due date)"
    )


class VisitOut(BaseModel):
    """A recorded visit and what it changed."""

    id: int
    task_id: int
    outcome: VisitOutcome
    visited_at: datetime
    recorded_at: datetime
    staff_id: int
    latitude: float | None
    longitude: float | None
    position_accuracy_m: float | None = None
    position_missing_reason: str | None = None
    photo_missing_reason: str | None = None
    photo_decision: str | None = Field(description="an AttemptDecision of the visit photo, or enrolled (first photo)")
    photo_distance: float | None
    form_scan_sha256: str | None
    needs_review: bool
    review_reasons: list[str] | None
    task_status: str
    task_due_date: date
    effect: dict[str, Any] = Field(default_factory=dict)


class ReviewItem(BaseModel):
    """A visit awaiting supervisor review."""

    visit: VisitOut
    pensioner_id: int
    name: str
    national_id_masked: str


class ReviewIn(BaseModel):
    """A supervisor's decision on a flagged visit."""

    decision: Literal["accepted", "rejected"]
    note: str | None = Field(default=None, max_length=1000)
