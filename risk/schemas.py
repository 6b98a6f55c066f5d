"""Pydantic shapes of the supervisor risk API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class TrendPoint(BaseModel):
    """Certifications on one local day."""

    day: date
    certified: int


class RegionRiskOut(BaseModel):
    """Risk figures of one region; children have the same shape."""

    region: str
    name: str
    level: str
    pensioners: int
    certified: int
    certified_by_channel: dict[str, int]
    pending: int
    at_risk: int
    pending_bedridden: int
    pending_80plus: int
    pending_failed_attempts: int
    failed_attempts: int
    home_visits_open: int
    home_visits_overdue: int
    suspended: int
    certified_with_exemption: int  # app certifications with an accessibility challenge (actions left out)
    projected_suspensions: int
    undeliverable: int  # this season's reminders and notices the SMS provider reported undelivered
    deadline: date | None
    days_left: int | None
    trend: list[TrendPoint]
    children: list[RegionRiskOut]


class RiskSummaryOut(RegionRiskOut):
    """The summary of a region for a season."""

    season: int
    today: date
    computed_at: datetime
    risk_days_left: int


class ReasonOut(BaseModel):
    """A reason code with its Chinese and English text."""

    code: str
    message: str
    message_en: str


class AtRiskOut(BaseModel):
    """One at-risk pensioner."""

    id: int
    name: str
    national_id: str
    region_code: str
    region_name: str
    age: int
    bedridden: bool
    pension_status: str
    deadline: date
    days_left: int
    failed_attempts: int
    last_attempt_at: datetime | None
    home_visit_status: str | None
    home_visit_due_date: date | None
    reminders_sent: int
    last_reminder_at: datetime | None
    reasons: list[ReasonOut]
    under_way: list[ReasonOut]
    history_url: str


class AtRiskPageOut(BaseModel):
    """A page of the at-risk list."""

    season: int
    today: date
    limit: int
    offset: int
    has_more: bool
    items: list[AtRiskOut]


class FailureCell(BaseModel):
    """Failed app attempts of one age band for one reason."""

    band: str
    reason: str
    attempts: int


class FailureRegionOut(BaseModel):
    """Failed app attempts of one child region, by reason."""

    region: str
    name: str
    total: int
    by_reason: dict[str, int]


class FailureWeekOut(BaseModel):
    """Failed app attempts of one week of the season (from its first day), by reason."""

    week_start: date
    total: int
    by_reason: dict[str, int]


class FailuresOut(BaseModel):
    """Why people fail in the app: by age band and reason, by region, and the weekly trend."""

    season: int
    region: str
    name: str
    today: date
    total: int
    bands: list[str]
    reasons: list[str]
    cells: list[FailureCell]
    regions: list[FailureRegionOut]
    weeks: list[FailureWeekOut]


class CardStatusOut(BaseModel):
    """The season state on the card (certified this season, pending with days left, suspended...)."""

    state: str
    season_year: int | None
    deadline: date | None
    days_left: int | None
    channel: str | None
    certified_at: datetime | None
    message: str
    message_en: str


class CardFaceOut(BaseModel):
    """Face enrolment on the card."""

    enrolled: bool
    enrolled_at: datetime | None
    templates: int
    consent_at: datetime | None
    consent_method: str | None


class CardCheckOut(BaseModel):
    """One recent face check: channel, decision and reasons (no distances)."""

    id: int
    at: datetime
    channel: str
    decision: str
    reasons: list[str]


class CardTaskOut(BaseModel):
    """The season's home-visit task, if any."""

    id: int
    status: str
    reason: str
    due_date: date
    assigned_staff_id: int | None
    assigned_to: str | None


class PensionerCardOut(BaseModel):
    """The counter's pensioner card."""

    id: int
    name: str
    national_id: str
    birth_date: date
    sex: str
    phone: str | None
    preferred_channel: str  # how messages reach the person: sms, push, wechat (SMS the fallback)
    channels_available: list[str]  # the channels this deployment offers (sms first): what staff may set
    region_code: str
    region_name: str
    pension_status: str
    bedridden: bool
    limited_mobility: bool
    status: CardStatusOut
    face: CardFaceOut
    checks: list[CardCheckOut]
    task: CardTaskOut | None
