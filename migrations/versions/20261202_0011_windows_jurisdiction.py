"""the day a pensioner joined the roster (their own window when that is late in or after a season)

Revision ID: 0011_windows_jurisdiction
Revises: 0010_money_integrity
Create Date: 2026-12-02 09:00:00

Pensioners imported after a season's close were suspended from that season's date, backdated; the roster
import now records the local day it added a person, and the sweeps give such people their own window.
Existing rows keep NULL: they were on the roster before, so their region's window applies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_windows_jurisdiction"
down_revision: str | None = "0010_money_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.add_column(sa.Column("added_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_pensioner_added_on", ["added_on"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_index("ix_pensioner_added_on")
        batch_op.drop_column("added_on")
