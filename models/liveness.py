"""Liveness challenges and perceptual hashes of submitted frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class LivenessChallenge(CreatedAtMixin, Base):
    """A single-use, server-chosen action sequence bound to one pensioner."""

    __tablename__ = "liveness_challenge"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    actions: Mapped[list[Any]]
    exempted: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))  # actions left out
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(24))


class FrameHash(CreatedAtMixin, Base):
    """A 64-bit perceptual hash of a submitted frame, kept for the season against replays."""

    __tablename__ = "frame_hash"
    __table_args__ = (Index("ix_frame_hash_pensioner_season", "pensioner_id", "season_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"))
    season_year: Mapped[int]
    phash: Mapped[int] = mapped_column(BigInteger)
    challenge_id: Mapped[str] = mapped_column(String(36))
