"""delivery receipts and family copies: the provider's id index (the column comes with 0014), delivery status, time and error code of each message;
the masked name a family copy is about

Revision ID: 0015_delivery_receipts
Revises: 0014_outbox_lanes
Create Date: 2026-12-02 04:30:00

The provider's delivery reports (POST /api/v1/messaging/delivery-reports) mark each outbox message
delivered or failed. Both new indexes are partial, so the reminder sweep's million-row INSERT, which sets
neither column, writes no entry in them. `subject_name` (张*明) lets a family copy rendered when sent say whose
reminder or notice it is without storing its whole text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015_delivery_receipts"
down_revision: str | None = "0014_outbox_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROVIDER_ID = sa.text("provider_message_id IS NOT NULL")
_FAILED = sa.text("delivery_status = 'failed'")


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_name", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_notification_provider_message_id",
            ["provider_message_id"],
            unique=False,
            postgresql_where=_PROVIDER_ID,
            sqlite_where=_PROVIDER_ID,
        )
        batch_op.create_index(
            "ix_notification_undelivered",
            ["season_year"],
            unique=False,
            postgresql_where=_FAILED,
            sqlite_where=_FAILED,
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_undelivered", postgresql_where=_FAILED, sqlite_where=_FAILED)
        batch_op.drop_index(
            "ix_notification_provider_message_id", postgresql_where=_PROVIDER_ID, sqlite_where=_PROVIDER_ID
        )
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("subject_name")
