"""staff app: the counter searches pensioners by phone (own or family), indexed

Revision ID: 0018_staff_app
Revises: 0017_pensioner_app
Create Date: 2026-12-02 04:30:00

The counter page finds a pensioner by national ID (full, leading or trailing digits), name prefix or
phone; phone and family phone get an index so that lookup is not a scan. Neither column is touched by the
suspension sweep, so its status change stays a HOT update on PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_staff_app"
down_revision: str | None = "0017_pensioner_app"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pensioner_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_pensioner_family_phone"), ["family_phone"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pensioner_family_phone"))
        batch_op.drop_index(batch_op.f("ix_pensioner_phone"))
