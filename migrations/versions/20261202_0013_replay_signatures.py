"""replay signatures of liveness answers (face region, encrypted) replace whole-frame hashes

Revision ID: 0009_replay_signatures
Revises: 0012_login_abuse
Create Date: 2026-12-02 02:00:00

The 64-bit whole-frame hashes (`frame_hash`) matched any frame of the same room, so an honest second try
was refused as a replay; they cannot be compared with the new face-region signatures and are dropped.
One row per answer now holds the signatures of its frames; only rows of certified challenges are compared.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0009_replay_signatures"
down_revision: str | None = "0012_login_abuse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "replay_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.String(length=36), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("signatures", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["liveness_challenge.id"],
            name=op.f("fk_replay_signature_challenge_id_liveness_challenge"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pensioner_id"],
            ["pensioner.id"],
            name=op.f("fk_replay_signature_pensioner_id_pensioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_signature")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_replay_signature_challenge_id")),
    )
    with op.batch_alter_table("replay_signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replay_signature_pensioner_id"), ["pensioner_id"], unique=False)
    with op.batch_alter_table("frame_hash", schema=None) as batch_op:
        batch_op.drop_index("ix_frame_hash_pensioner_season")
    op.drop_table("frame_hash")


def downgrade() -> None:
    """Revert (the whole-frame hashes are not rebuilt)."""
    op.create_table(
        "frame_hash",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.Column("challenge_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pensioner_id"], ["pensioner.id"], name=op.f("fk_frame_hash_pensioner_id_pensioner"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frame_hash")),
    )
    with op.batch_alter_table("frame_hash", schema=None) as batch_op:
        batch_op.create_index("ix_frame_hash_pensioner_season", ["pensioner_id", "season_year"], unique=False)
    with op.batch_alter_table("replay_signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replay_signature_pensioner_id"))
    op.drop_table("replay_signature")
