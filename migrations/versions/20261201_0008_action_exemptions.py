"""actions a pensioner is exempted from (staff-recorded), and the exemptions a challenge used

Revision ID: 0008_action_exemptions
Revises: 0007_template_model
Create Date: 2026-12-01 23:20:00

A challenge without some actions (accessibility) used to be available to any client; now only the
actions staff recorded as impossible for the person may be left out, and the challenge keeps which.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_action_exemptions"
down_revision: str | None = "0007_template_model"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_exemptions", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    with op.batch_alter_table("liveness_challenge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exempted", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("liveness_challenge", schema=None) as batch_op:
        batch_op.drop_column("exempted")
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_column("action_exemptions")
