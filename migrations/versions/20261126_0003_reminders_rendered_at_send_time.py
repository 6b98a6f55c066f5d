"""reminders rendered at send time

Revision ID: 0003_reminders
Revises: 0002_risk
Create Date: 2026-11-25 15:17:34.555686
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reminders"
down_revision: str | None = "0002_risk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("deadline_date", sa.Date(), nullable=True))
        batch_op.alter_column("body_zh", existing_type=sa.TEXT(), nullable=True)
        batch_op.alter_column("body_en", existing_type=sa.TEXT(), nullable=True)
        batch_op.drop_index(batch_op.f("ix_notification_pensioner_id"))
        batch_op.drop_index(batch_op.f("ix_notification_phone"))
        batch_op.drop_constraint(batch_op.f("uq_notification_dedupe_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_notification_pensioner_id_season_year_kind_recipient"),
            ["pensioner_id", "season_year", "kind", "recipient"],
        )
        batch_op.drop_column("dedupe_key")


def downgrade() -> None:
    """Revert."""
    op.execute("UPDATE notification SET body_zh = '' WHERE body_zh IS NULL")
    op.execute("UPDATE notification SET body_en = '' WHERE body_en IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.VARCHAR(length=120), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_notification_pensioner_id_season_year_kind_recipient"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_notification_dedupe_key"), ["dedupe_key"])
        batch_op.create_index(batch_op.f("ix_notification_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_pensioner_id"), ["pensioner_id"], unique=False)
        batch_op.alter_column("body_en", existing_type=sa.TEXT(), nullable=False)
        batch_op.alter_column("body_zh", existing_type=sa.TEXT(), nullable=False)
        batch_op.drop_column("deadline_date")
        batch_op.drop_column("recipient")
