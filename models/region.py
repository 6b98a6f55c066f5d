"""Administrative divisions, keyed by the 12-digit division code."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class Region(CreatedAtMixin, Base):
    """City, district/county, town/street or village/community."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("region.code", deferrable=True, initially="DEFERRED"), index=True
    )
    # Centre of the community (WGS-84), where known: home-visit GPS fixes are checked against it.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
