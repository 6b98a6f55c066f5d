"""life_evidence: no foreign key to pensioner, no index on pensioner_id alone (bulk imports)

Revision ID: 0021_life_evidence_bulk
Revises: 0020_certification_import_run
Create Date: 2026-12-02 15:10:00

Measured on PostgreSQL 15 with 1,000,000 pensioners (EXPLAIN ANALYZE of the import's INSERT … SELECT of one
million evidence rows, rolled back): the foreign-key trigger took 8.4 s of 24.3 s (calls=1000000); without the
key and the index the same INSERT took 11.3 s instead of 19.1 s. `ix_life_evidence_pensioner_id` is redundant:
the unique key (pensioner_id, evidence_date, source) leads with the same column. Rows are written only by
imports, which join every file row to `pensioner` by national ID, and pensioners are never deleted (the
ON DELETE CASCADE never ran). docs/seasons.md "Imports" has the figures.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_life_evidence_bulk"
down_revision: str | None = "0020_certification_import_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("life_evidence") as batch:
        batch.drop_index("ix_life_evidence_pensioner_id")
        batch.drop_constraint("fk_life_evidence_pensioner_id_pensioner", type_="foreignkey")


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("life_evidence") as batch:
        batch.create_foreign_key(
            "fk_life_evidence_pensioner_id_pensioner", "pensioner", ["pensioner_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_life_evidence_pensioner_id", ["pensioner_id"], unique=False)
