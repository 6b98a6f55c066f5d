"""The outbox through which every SMS and push message leaves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class Notification(CreatedAtMixin, Base):
    """One message to one phone.

    Reminders are unique per (pensioner, season, kind, recipient), so a sweep can never queue one twice;
    their text is rendered when sent (body NULL) — a million stored copies of the same sentence would
    triple the cost of the reminder sweep. Other messages (login codes) carry their body.
    """

    __tablename__ = "notification"
    __table_args__ = (
        # Senders claim the oldest due rows of one lane: status and lane equal, next_attempt_at in order.
        Index("ix_notification_status_lane_next_attempt_at", "status", "lane", "next_attempt_at"),
        # Every per-person statement (cancel a person's pending reminders, …) starts from the pensioner.
        Index("ix_notification_pensioner_id_status", "pensioner_id", "status"),
        UniqueConstraint("pensioner_id", "season_year", "kind", "recipient"),
        # Partial indexes: the reminder sweep writes a million rows with neither set, so neither costs it.
        Index(
            "ix_notification_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
            sqlite_where=text("provider_message_id IS NOT NULL"),
        ),
        Index(
            "ix_notification_undelivered",
            "season_year",
            postgresql_where=text("delivery_status = 'failed'"),
            sqlite_where=text("delivery_status = 'failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: an outbox row is a message, written a million at a time by the reminder sweep from
    # pensioner rows; the per-row key check cost 40 % of that sweep on PostgreSQL (docs/seasons.md).
    pensioner_id: Mapped[int | None]
    phone: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(8), default="sms")  # models.enums.Channel
    lane: Mapped[str] = mapped_column(String(8), default="bulk", server_default="bulk")  # models.enums.OutboxLane
    kind: Mapped[str] = mapped_column(String(32))
    season_year: Mapped[int | None]
    recipient: Mapped[str | None] = mapped_column(String(8))  # reminders: "self" or "family"
    deadline_date: Mapped[date | None]  # reminders: the deadline the text names
    # Family copies: the masked name of the person it is about (张*明), so a text rendered when sent says whose.
    subject_name: Mapped[str | None] = mapped_column(String(20))
    body_zh: Mapped[str | None] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="pending")  # models.enums.NotificationStatus
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(36))  # the sender holding the lease (status sending)
    provider_message_id: Mapped[str | None] = mapped_column(String(64))  # the gateway's id for an accepted message
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # models.enums.DeliveryStatus
    delivered_at: Mapped[datetime | None]  # the provider's time of the (final) report
    delivery_error: Mapped[str | None] = mapped_column(String(64))  # the provider's error code of a failure
