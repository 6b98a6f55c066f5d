"""outbox lanes, leases, provider ids, the pensioner-first index and the preferred channel

Revision ID: 0014_outbox_lanes
Revises: 0009_replay_signatures
Create Date: 2026-12-02 04:30:00

Login codes wait in their own lane (`lane`), claimed by senders with a lease (`status` sending,
`claimed_by`, `next_attempt_at` = lease end); accepted messages keep the gateway's id for delivery
receipts. Stale reminders expire with a status saying why (longer status strings). Per-person statements
start from `ix_notification_pensioner_id_status` instead of scanning every pending row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_outbox_lanes"
down_revision: str | None = "0009_replay_signatures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=8), server_default="bulk", nullable=False))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("provider_message_id", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=24), existing_nullable=False
        )
        batch_op.drop_index("ix_notification_status_next_attempt_at")
        batch_op.create_index(
            "ix_notification_status_lane_next_attempt_at", ["status", "lane", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_notification_pensioner_id_status", ["pensioner_id", "status"], unique=False)
    op.execute("UPDATE notification SET lane = 'fast' WHERE kind = 'otp'")
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_channel", sa.String(length=8), server_default="sms", nullable=False))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_column("preferred_channel")
    op.execute("UPDATE notification SET status = 'pending' WHERE status = 'sending'")
    op.execute("UPDATE notification SET status = 'cancelled' WHERE status LIKE 'expired_%'")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_pensioner_id_status")
        batch_op.drop_index("ix_notification_status_lane_next_attempt_at")
        batch_op.create_index("ix_notification_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)
        batch_op.alter_column(
            "status", existing_type=sa.String(length=24), type_=sa.String(length=16), existing_nullable=False
        )
        batch_op.drop_column("provider_message_id")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("lane")
