"""sweep write cost: HOT status updates, no sweep-written foreign keys, partial reinstatement index

Revision ID: 0006_sweep_write_cost
Revises: 0005_staff_phone
Create Date: 2026-11-25 17:45:00

Measured at 1,000,000 pensioners on PostgreSQL (docs/seasons.md): the reminder INSERT spent ~40 % of its
time on the notification → pensioner key check (the suspension INSERT ~50 % on its own), the suspension UPDATE rewrote 8 index entries per row
because pension_status was indexed, and ix_suspension_season_year / ix_suspension_reinstated_at took a
row each for every new suspension. On PostgreSQL the pensioner table gets fillfactor 50 so a status
change fits on its page (HOT); pages written before this revision get the room once rewritten
(`VACUUM FULL pensioner` in a maintenance window, or as rows are updated and vacuumed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sweep_write_cost"
down_revision: str | None = "0005_staff_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = sa.text("reinstated_at IS NOT NULL")


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_index("ix_pensioner_district_status")
        batch_op.create_index("ix_pensioner_district_code", ["district_code"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE pensioner SET (fillfactor = 50)")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_notification_pensioner_id_pensioner"), type_="foreignkey")
    with op.batch_alter_table("suspension", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_suspension_pensioner_id_pensioner"), type_="foreignkey")
        batch_op.drop_index("ix_suspension_season_year")
        batch_op.drop_index("ix_suspension_reinstated_at")
        batch_op.create_index(
            "ix_suspension_reinstated_at",
            ["reinstated_at"],
            unique=False,
            postgresql_where=_PARTIAL,
            sqlite_where=_PARTIAL,
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("suspension", schema=None) as batch_op:
        batch_op.drop_index("ix_suspension_reinstated_at")
        batch_op.create_index("ix_suspension_reinstated_at", ["reinstated_at"], unique=False)
        batch_op.create_index("ix_suspension_season_year", ["season_year"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_suspension_pensioner_id_pensioner"), "pensioner", ["pensioner_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_notification_pensioner_id_pensioner"), "pensioner", ["pensioner_id"], ["id"], ondelete="CASCADE"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE pensioner RESET (fillfactor)")
    with op.batch_alter_table("pensioner", schema=None) as batch_op:
        batch_op.drop_index("ix_pensioner_district_code")
        batch_op.create_index("ix_pensioner_district_status", ["district_code", "pension_status"], unique=False)
