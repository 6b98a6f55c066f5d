"""certification: no foreign key to pensioner (bulk imports)

Revision ID: 0022_certification_bulk
Revises: 0021_life_evidence_bulk
Create Date: 2026-12-03 12:10:00

Measured on PostgreSQL 15 with 1,000,000 pensioners (the import's INSERT … SELECT of one million
certifications, rolled back, two rounds in the same session): 27.3 / 24.6 s with the key, 15.1 / 14.8 s
without it. The key's per-row check takes a KEY SHARE row lock, written into every pensioner row's header.
Every writer of certification (app, counter, home visit, import) takes the pensioner id from a pensioner row it
has just read, and pensioners are never deleted (death is a status; the ON DELETE CASCADE never ran). docs/seasons.md "Imports" has the figures.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022_certification_bulk"
down_revision: str | None = "0021_life_evidence_bulk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    _alter(lambda batch: batch.drop_constraint("fk_certification_pensioner_id_pensioner", type_="foreignkey"))


def downgrade() -> None:
    """Revert."""
    _alter(
        lambda batch: batch.create_foreign_key(
            "fk_certification_pensioner_id_pensioner", "pensioner", ["pensioner_id"], ["id"], ondelete="CASCADE"
        )
    )


def _alter(change: Any) -> None:
    """Apply `change` to certification; SQLite rebuilds it with AUTOINCREMENT and keeps its highest id given."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        with op.batch_alter_table("certification") as batch:
            change(batch)
        return
    given = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'certification'")).scalar()
    rebuild: Any = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    with op.batch_alter_table("certification", **rebuild) as batch:
        change(batch)
    if given is None:
        return
    # The copy restarts the sequence at the highest id kept: a deleted row's id above it is never given again.
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'certification'"))
    bind.execute(
        sa.text(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'certification', max(:given, coalesce(max(id), 0))"
            " FROM certification"
        ),
        {"given": given},
    )
