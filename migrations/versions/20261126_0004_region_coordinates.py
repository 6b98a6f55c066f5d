"""region coordinates

Revision ID: 0004_region_coords
Revises: 0003_reminders
Create Date: 2026-11-25 15:30:59.870366
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_region_coords"
down_revision: str | None = "0003_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
