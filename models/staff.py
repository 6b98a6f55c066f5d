"""Staff accounts: admin, counter, field and supervisor."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class StaffUser(TimestampMixin, Base):
    """A social-insurance employee; sees their jurisdiction region and everything below it."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))  # work mobile: escalations and alerts
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("region.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
