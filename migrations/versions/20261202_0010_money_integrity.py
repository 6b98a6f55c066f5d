"""money integrity: withdrawn certifications kept, a back-pay ledger, pension holds, residence transfers

Revision ID: 0010_money_integrity
Revises: 0008_action_exemptions
Create Date: 2026-12-02 09:00:00

A certification is withdrawn (who, when, why), never deleted, so the standing one per person and season is a
partial unique index; every reinstatement and every reversal of one is a row of `reinstatement` (existing
reinstated suspensions are copied in); a reported death holds the pension (`pension_hold`) until a supervisor
decides; a move out of the city is a `residence_transfer`. On SQLite the money tables are rebuilt with
AUTOINCREMENT so an id is never given twice (PostgreSQL sequences never give one twice).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_money_integrity"
down_revision: str | None = "0008_action_exemptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STANDING = sa.text("withdrawn_at IS NULL")
_REINSTATED = sa.text("reinstated_at IS NOT NULL")
_UNDECIDED = sa.text("decision IS NULL")


def _rebuild() -> dict[str, Any]:
    """Batch options: on SQLite, rebuild the table with AUTOINCREMENT."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("certification", schema=None, **_rebuild()) as batch_op:  # type: ignore[arg-type]
        batch_op.add_column(sa.Column("replaced_due_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_certification_withdrawn_by_staff_id_staff_user"), "staff_user", ["withdrawn_by_staff_id"], ["id"]
        )
        batch_op.drop_constraint("uq_certification_pensioner_id_season_year", type_="unique")
        batch_op.create_index(
            "uq_certification_standing",
            ["pensioner_id", "season_year"],
            unique=True,
            postgresql_where=_STANDING,
            sqlite_where=_STANDING,
        )
    with op.batch_alter_table("suspension", schema=None, **_rebuild()) as batch_op:  # type: ignore[arg-type]
        batch_op.drop_index("ix_suspension_reinstated_at")
        batch_op.create_index(
            "ix_suspension_reinstated_at",
            ["reinstated_at"],
            unique=False,
            postgresql_where=_REINSTATED,
            sqlite_where=_REINSTATED,
        )
    for table in ("home_visit", "evidence"):
        with op.batch_alter_table(table, schema=None, **_rebuild()) as batch_op:  # type: ignore[arg-type]
            pass
    _create_reinstatement()
    _create_pension_hold()
    _create_residence_transfer()
    # The ledger starts with every reinstatement made so far (the suspension row holds the last one).
    op.execute(
        "INSERT INTO reinstatement (kind, pensioner_id, suspension_id, season_year, certification_id, recorded_at,"
        " suspended_from, effective_date, back_pay_months)"
        " SELECT 'reinstatement', s.pensioner_id, s.id, s.season_year,"
        " (SELECT c.id FROM certification c WHERE c.pensioner_id = s.pensioner_id AND c.season_year = s.season_year),"
        " s.reinstated_at, s.effective_date, COALESCE(s.reinstated_effective_date, s.effective_date),"
        " COALESCE(s.back_pay_months, 0)"
        " FROM suspension s WHERE s.reinstated_at IS NOT NULL ORDER BY s.reinstated_at, s.id"
    )


def _autoincrement() -> dict[str, Any]:
    return {"sqlite_autoincrement": True}


def _create_reinstatement() -> None:
    op.create_table(
        "reinstatement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("suspension_id", sa.Integer(), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("certification_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("suspended_from", sa.Date(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("back_pay_months", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reinstatement")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_reinstatement_reverses_id")),
        **_autoincrement(),
    )
    with op.batch_alter_table("reinstatement", schema=None) as batch_op:
        batch_op.create_index("ix_reinstatement_certification_id", ["certification_id"], unique=False)
        batch_op.create_index("ix_reinstatement_pensioner_id", ["pensioner_id"], unique=False)


def _create_pension_hold() -> None:
    op.create_table(
        "pension_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("home_visit_id", sa.Integer(), nullable=True),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        sa.Column("reported_death_date", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("back_pay_months", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_staff_id"], ["staff_user.id"], name=op.f("fk_pension_hold_decided_by_staff_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["held_by_staff_id"], ["staff_user.id"], name=op.f("fk_pension_hold_held_by_staff_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["pensioner_id"], ["pensioner.id"], name=op.f("fk_pension_hold_pensioner_id_pensioner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pension_hold")),
        **_autoincrement(),
    )
    with op.batch_alter_table("pension_hold", schema=None) as batch_op:
        batch_op.create_index("ix_pension_hold_pensioner_id", ["pensioner_id"], unique=False)
        batch_op.create_index(
            "uq_pension_hold_open", ["pensioner_id"], unique=True, postgresql_where=_UNDECIDED, sqlite_where=_UNDECIDED
        )


def _create_residence_transfer() -> None:
    op.create_table(
        "residence_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pensioner_id", sa.Integer(), nullable=False),
        sa.Column("home_visit_id", sa.Integer(), nullable=True),
        sa.Column("from_region_code", sa.String(length=12), nullable=False),
        sa.Column("to_region_code", sa.String(length=12), nullable=True),
        sa.Column("paying_region_code", sa.String(length=12), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_staff_id"],
            ["staff_user.id"],
            name=op.f("fk_residence_transfer_decided_by_staff_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["pensioner_id"], ["pensioner.id"], name=op.f("fk_residence_transfer_pensioner_id_pensioner")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_staff_id"],
            ["staff_user.id"],
            name=op.f("fk_residence_transfer_reported_by_staff_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residence_transfer")),
        **_autoincrement(),
    )
    with op.batch_alter_table("residence_transfer", schema=None) as batch_op:
        batch_op.create_index("ix_residence_transfer_pensioner_id", ["pensioner_id"], unique=False)


def downgrade() -> None:
    """Revert; refused while withdrawn certifications exist (the old unique key has no room for them)."""
    withdrawn = op.get_bind().execute(sa.text("SELECT count(*) FROM certification WHERE withdrawn_at IS NOT NULL"))
    if withdrawn.scalar():
        raise RuntimeError("withdrawn certifications exist; downgrading would have to delete them")
    op.drop_table("residence_transfer")
    op.drop_table("pension_hold")
    op.drop_table("reinstatement")
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index("uq_certification_standing")
        batch_op.create_unique_constraint("uq_certification_pensioner_id_season_year", ["pensioner_id", "season_year"])
        batch_op.drop_constraint(op.f("fk_certification_withdrawn_by_staff_id_staff_user"), type_="foreignkey")
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by_staff_id")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("replaced_due_date")
