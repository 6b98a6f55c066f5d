"""certification.import_run: the passive import run that recorded a certification

Revision ID: 0020_certification_import_run
Revises: 0019_field_visits
Create Date: 2026-12-02 15:00:00

A life-evidence import writes one audit event per run (target type `import`, target id the run) instead of a
`certification.recorded` row per person; each certification it makes quotes the run here, so it stays
traceable to its run and that run's audited event. NULL for every other channel and for certifications
recorded before this revision (their per-person audit rows stand).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_certification_import_run"
down_revision: str | None = "0019_field_visits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("certification") as batch:
        batch.add_column(sa.Column("import_run", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("certification") as batch:
        batch.drop_column("import_run")
