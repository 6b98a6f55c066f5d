"""field visits: the pensioner's street, house, landmark and house position; a visit's accuracy and missing reasons

Revision ID: 0019_field_visits
Revises: 0018_staff_app
Create Date: 2026-12-02 04:00:00

The field page shows where the house is and compares the visit's position with the house when it is known
(else the community's); a visit records the device's accuracy and why a position or photo is missing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_field_visits"
down_revision: str | None = "0018_staff_app"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENSIONER = (
    ("address_street", sa.String(length=200)),
    ("address_house", sa.String(length=100)),
    ("address_landmark", sa.String(length=200)),
    ("address_latitude", sa.Float()),
    ("address_longitude", sa.Float()),
)
_VISIT = (
    ("position_accuracy_m", sa.Float()),
    ("position_missing_reason", sa.String(length=24)),
    ("photo_missing_reason", sa.String(length=24)),
)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("pensioner") as batch:
        for name, type_ in _PENSIONER:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("home_visit") as batch:
        for name, type_ in _VISIT:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("home_visit") as batch:
        for name, _ in reversed(_VISIT):
            batch.drop_column(name)
    with op.batch_alter_table("pensioner") as batch:
        for name, _ in reversed(_PENSIONER):
            batch.drop_column(name)
