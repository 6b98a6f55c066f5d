"""Liveness challenges and the replay signatures of their answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, text
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


class ReplaySignature(CreatedAtMixin, Base):
    """Face-region signatures of one liveness answer's frames (encrypted); later answers are compared
    against those of certified challenges (faces.liveness.remember_frames, docs/liveness.md "Replay check")."""

    __tablename__ = "replay_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioner.id", ondelete="CASCADE"), index=True)
    challenge_id: Mapped[str] = mapped_column(ForeignKey("liveness_challenge.id", ondelete="CASCADE"), unique=True)
    season_year: Mapped[int | None]
    version: Mapped[int]  # signature layout (verification.liveness.SIGNATURE_VERSION); others are not compared
    frame_count: Mapped[int]
    signatures: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM of pack_signatures(), bound to the challenge
    key_id: Mapped[str] = mapped_column(String(32))
