"""staff phone

Revision ID: 0005_staff_phone
Revises: 0004_region_coords
Create Date: 2026-11-25 16:23:48.490647
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_staff_phone"
down_revision: str | None = "0004_region_coords"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("phone")
