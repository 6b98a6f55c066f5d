"""Pensioners: the people who certify."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin
from models.enums import PensionStatus


class Pensioner(TimestampMixin, Base):
    """A person drawing a pension, with residence and status."""

    __tablename__ = "pensioner"
    __table_args__ = (
        # No index holds pension_status, so the suspension sweep's mass status change is a HOT update on
        # PostgreSQL (with the table's fillfactor 50, migration 0006): no index entry is rewritten.
        Index("ix_pensioner_district_code", "district_code"),
        Index("ix_pensioner_town_code", "town_code"),
        Index("ix_pensioner_city_code", "city_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    national_id: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(index=True)
    sex: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # counter search by phone
    family_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    # models.enums.Channel: where the person's reminders go first; SMS is the fallback.
    preferred_channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("region.code"), index=True)
    # Ancestors of region_code, denormalised at import so jurisdiction filters and
    # supervisor roll-ups are one indexed equality instead of a tree walk.
    town_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(String(12))
    paying_region_code: Mapped[str | None] = mapped_column(String(12))
    bedridden: Mapped[bool] = mapped_column(Boolean, default=False)
    limited_mobility: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the house is, for the field worker: street (路/街/巷), house number, a landmark, and the house's
    # position when known (the GPS check then compares with the house, not the community centre).
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_house: Mapped[str | None] = mapped_column(String(100))
    address_landmark: Mapped[str | None] = mapped_column(String(200))
    address_latitude: Mapped[float | None] = mapped_column(Float)
    address_longitude: Mapped[float | None] = mapped_column(Float)
    # Liveness actions staff recorded as impossible for this person (accessibility); only these may be left out.
    action_exemptions: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    pension_status: Mapped[str] = mapped_column(String(16), default=PensionStatus.ACTIVE)
    status_since: Mapped[date | None]
    death_date: Mapped[date | None]
    # Rolling policy: the person's own certification deadline.
    certification_due_date: Mapped[date | None] = mapped_column(index=True)
    # Local date the roster import added the person (NULL: on the roster before migration 0011); someone
    # added late in or after a season gets a window of their own (certification.seasons.window_cohorts).
    added_on: Mapped[date | None] = mapped_column(index=True)
