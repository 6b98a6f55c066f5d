"""login abuse: several live codes with the asking device, known devices, refresh-token families

Revision ID: 0012_login_abuse
Revises: 0011_windows_jurisdiction
Create Date: 2026-12-02 09:00:00

A new code no longer cancels the live ones (the newest few stay live, each with the device that asked);
a device that completed a code login is remembered for the pensioner (it is not held back by limits on the
national ID); refresh tokens carry their family (the login) so that reusing a rotated one revokes the login.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0012_login_abuse"
down_revision: str | None = "0011_windows_jurisdiction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("otp_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_refresh_token_family_id"), ["family_id"], unique=False)
    op.create_table(
        "known_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=False),
        sa.Column("first_login_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pensioner_id"],
            ["pensioner.id"],
            name=op.f("fk_known_device_pensioner_id_pensioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_device")),
        sa.UniqueConstraint("pensioner_id", "device_hash", name=op.f("uq_known_device_pensioner_id_device_hash")),
    )
    with op.batch_alter_table("known_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_device_pensioner_id"), ["pensioner_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("known_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_device_pensioner_id"))
    op.drop_table("known_device")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_token_family_id"))
        batch_op.drop_column("family_id")
    with op.batch_alter_table("otp_code", schema=None) as batch_op:
        batch_op.drop_column("device_hash")
