"""Pydantic request and response bodies (separate from the ORM models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every 4xx answer: a stable code and a message in Chinese and English."""

    code: str
    message: str
    message_en: str
    detail: Any = None


class TokenOut(BaseModel):
    """OAuth2 bearer token answer."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class RefreshIn(BaseModel):
    """A refresh token to rotate."""

    refresh_token: str = Field(max_length=2048)


class OtpRequestIn(BaseModel):
    """Ask for a login code."""

    national_id: str = Field(min_length=15, max_length=18)
    to_family_phone: bool = False


class OtpRequestOut(BaseModel):
    """Where the code went (masked), if the person is known."""

    sent: bool = True
    message: str
    message_en: str
    masked_phone: str | None = None


class PensionerTokenIn(BaseModel):
    """Exchange a code for a token."""

    national_id: str = Field(min_length=15, max_length=18)
    code: str = Field(min_length=4, max_length=8)


class RegionOut(BaseModel):
    """A region."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None


class PensionerOut(BaseModel):
    """A pensioner as staff see them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    national_id: str
    name: str
    birth_date: date
    sex: str
    phone: str | None
    family_phone: str | None
    region_code: str
    district_code: str | None
    town_code: str | None
    paying_region_code: str | None
    bedridden: bool
    limited_mobility: bool
    pension_status: str
    status_since: date | None
    death_date: date | None
    created_at: datetime
    updated_at: datetime


class PensionerPage(BaseModel):
    """A page of pensioners."""

    total: int
    items: list[PensionerOut]


class ImportRejection(BaseModel):
    """A rejected CSV line."""

    line: int
    reason: str


class RosterImportOut(BaseModel):
    """Result of a roster import."""

    inserted: int
    updated: int
    rejected: list[ImportRejection]


class RegionImportOut(BaseModel):
    """Result of a region import."""

    inserted: int
    updated: int


class MeOut(BaseModel):
    """The logged-in pensioner's own record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    national_id_masked: str
    pension_status: str
    status_since: date | None


class ChallengeIn(BaseModel):
    """Actions the pensioner cannot perform (accessibility)."""

    without: list[str] = Field(default_factory=list, max_length=4)
