"""face templates record the face model that made them

Revision ID: 0007_template_model
Revises: 0006_sweep_write_cost
Create Date: 2026-12-01 22:00:00

Every existing template was made by dlib; template ids are never reused (SQLite AUTOINCREMENT), so the
per-process 1:N index can load new templates by id; from now on a template is compared only with probes of its
own model, and the 1:N enrolment search reads one model's templates in id order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_template_model"
down_revision: str | None = "0006_sweep_write_cost"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply; on SQLite the table is rebuilt with AUTOINCREMENT so a template id is never given twice."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    rebuild = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table("face_template", schema=None, **rebuild) as batch_op:  # type: ignore[arg-type]
        batch_op.add_column(sa.Column("model", sa.String(length=16), server_default="dlib", nullable=False))
        batch_op.create_index("ix_face_template_model_id", ["model", "id"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("face_template", schema=None) as batch_op:
        batch_op.drop_index("ix_face_template_model_id")
        batch_op.drop_column("model")
