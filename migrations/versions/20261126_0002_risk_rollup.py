"""risk rollup

Revision ID: 0002_risk
Revises: 0001
Create Date: 2026-11-25 14:53:48.059778
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0002_risk"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""

    op.create_table(
        "risk_rollup",
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("district_code", sa.String(length=12), nullable=True),
        sa.Column("city_code", sa.String(length=12), nullable=True),
        sa.Column("computed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pensioners", sa.Integer(), nullable=False),
        sa.Column("certified_app", sa.Integer(), nullable=False),
        sa.Column("certified_home_visit", sa.Integer(), nullable=False),
        sa.Column("certified_counter", sa.Integer(), nullable=False),
        sa.Column("certified_self_service_terminal", sa.Integer(), nullable=False),
        sa.Column("certified_data_comparison", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("pending_bedridden", sa.Integer(), nullable=False),
        sa.Column("pending_80plus", sa.Integer(), nullable=False),
        sa.Column("pending_failed_attempts", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("visits_open", sa.Integer(), nullable=False),
        sa.Column("visits_overdue", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("season_year", "region_code", name=op.f("pk_risk_rollup")),
    )
    with op.batch_alter_table("risk_rollup", schema=None) as batch_op:
        batch_op.create_index("ix_risk_rollup_season_district", ["season_year", "district_code"], unique=False)
        batch_op.create_index("ix_risk_rollup_season_town", ["season_year", "town_code"], unique=False)

    op.create_table(
        "risk_rollup_day",
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("district_code", sa.String(length=12), nullable=True),
        sa.Column("city_code", sa.String(length=12), nullable=True),
        sa.Column("certified", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("season_year", "region_code", "day", name=op.f("pk_risk_rollup_day")),
    )
    with op.batch_alter_table("risk_rollup_day", schema=None) as batch_op:
        batch_op.create_index("ix_risk_rollup_day_season_district", ["season_year", "district_code"], unique=False)


def downgrade() -> None:
    """Revert."""

    with op.batch_alter_table("risk_rollup_day", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_rollup_day_season_district")

    op.drop_table("risk_rollup_day")
    with op.batch_alter_table("risk_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_rollup_season_town")
        batch_op.drop_index("ix_risk_rollup_season_district")

    op.drop_table("risk_rollup")
