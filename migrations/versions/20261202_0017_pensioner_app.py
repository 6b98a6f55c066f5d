"""pensioner app: the family helper of a login and of each face attempt

Revision ID: 0017_pensioner_app
Revises: 0015_delivery_receipts
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_pensioner_app"
down_revision: str | None = "0015_delivery_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helper_phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("verification_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helper_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("verification_attempt", schema=None) as batch_op:
        batch_op.drop_column("helper_phone")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_column("helper_phone")
