"""Payroll exports: suspensions of a season and reinstatements with back-pay months, as CSV rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.exports import CsvWriter
from models import Pensioner, Suspension

SUSPENSION_COLUMNS = ["national_id", "name", "region_code", "season_year", "effective_month", "status"]
REINSTATEMENT_COLUMNS = [
    "national_id",
    "name",
    "region_code",
    "season_year",
    "suspended_from_month",
    "effective_month",
    "back_pay_months",
]


def suspension_rows(*, session: Session, season_year: int) -> Iterator[list[str]]:
    """One row per pensioner suspended for the season; effective_month is when payment stops."""
    stmt = (
        select(Pensioner.national_id, Pensioner.name, Pensioner.region_code, Suspension)
        .join(Suspension, Suspension.pensioner_id == Pensioner.id)
        .where(Suspension.season_year == season_year)
        .order_by(Pensioner.region_code, Pensioner.national_id)
        .execution_options(yield_per=5000)
    )
    for nid, name, region, s in session.execute(stmt):
        status = "reinstated" if s.reinstated_at else "suspended"
        yield [nid, name, region, str(s.season_year), f"{s.effective_date:%Y-%m}", status]


def reinstatement_rows(*, session: Session, season_year: int | None = None) -> Iterator[list[str]]:
    """One row per reinstated suspension; effective_month is when payment resumes, with back-pay months."""
    stmt = (
        select(Pensioner.national_id, Pensioner.name, Pensioner.region_code, Suspension)
        .join(Suspension, Suspension.pensioner_id == Pensioner.id)
        .where(Suspension.reinstated_at.is_not(None))
        .order_by(Suspension.reinstated_at, Pensioner.national_id)
        .execution_options(yield_per=5000)
    )
    if season_year is not None:
        stmt = stmt.where(Suspension.season_year == season_year)
    for nid, name, region, s in session.execute(stmt):
        effective = s.reinstated_effective_date
        yield [
            nid,
            name,
            region,
            str(s.season_year),
            f"{s.effective_date:%Y-%m}",
            f"{effective:%Y-%m}" if effective else "",
            str(s.back_pay_months or 0),
        ]


def write_csv(out: TextIO, header: list[str], rows: Iterable[list[str]]) -> int:
    """Write a header and rows (no cell a spreadsheet would run as a formula); returns the row count."""
    return CsvWriter(out, header).writerows(rows)


def record_export(*, session: Session, export: str, season_year: int | None, rows: int, actor_id: str) -> None:
    """Audit a payroll export from the command line: who (the operating-system user), which, how many rows."""
    audit.record(
        session=session,
        actor_type="cli",
        actor_id=actor_id,
        action="payroll.exported",
        target_type="season",
        target_id=season_year,
        detail={"export": export, "season": season_year, "rows": rows, "full_national_ids": True},
    )
