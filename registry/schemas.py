"""Response bodies of regions, the roster and pensioners as staff see them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


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
    preferred_channel: str
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


class PreferredChannelIn(BaseModel):
    """How messages should reach the pensioner (SMS stays the fallback): one of the offered channels."""

    channel: str = Field(max_length=16, description="sms, push or wechat; only channels this deployment offers")


class ChannelOptionOut(BaseModel):
    """A channel the deployment offers, with its name for the person choosing."""

    channel: str
    name: str
    name_en: str


class MyChannelOut(BaseModel):
    """How the service's messages reach the pensioner; SMS is always offered and is the fallback."""

    channel: str = Field(description="The stored preference")
    sends_by: str = Field(description="The channel messages go by now: the preference if offered, else sms")
    available: list[ChannelOptionOut] = Field(description="The channels offered here, SMS first")


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
    """Result of a region import: rows refused as outside the caller's jurisdiction are listed."""

    inserted: int
    updated: int
    rejected: list[ImportRejection]


class StaffOut(BaseModel):
    """A staff account as colleagues see it (e.g. in the reassign picker)."""

    id: int
    username: str
    display_name: str | None
    role: str
    region_code: str
    region_name: str


class StaffMeOut(StaffOut):
    """The logged-in staff member: where the staff pages land them and what they may see."""

    region_level: str
