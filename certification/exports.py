"""Payroll exports as CSV rows: suspensions, the back-pay ledger (with reversals), holds, transfers out of the city.

Nothing the payroll was told disappears: a withdrawn certification's back pay shows as a reversal row next to
the reinstatement it undoes, a hold stays listed with how it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.exports import CsvWriter
from models import Pensioner, PensionHold, Reinstatement, ResidenceTransfer, Suspension
from models.enums import PensionStatus

DEFAULT_TZ = "Asia/Shanghai"  # settings.timezone's default; the CLI passes the configured one
SUSPENSION_COLUMNS = ["national_id", "name", "region_code", "season_year", "effective_month", "status"]
REINSTATEMENT_COLUMNS = [
    "national_id",
    "name",
    "region_code",
    "season_year",
    "suspended_from_month",
    "effective_month",
    "back_pay_months",
    "entry",
    "entry_id",
    "reverses_entry_id",
    "recorded_on",
]
HOLD_COLUMNS = [
    "national_id",
    "name",
    "region_code",
    "hold_id",
    "reason",
    "held_from_month",
    "status",
    "decided_on",
    "back_pay_months",
]
TRANSFER_COLUMNS = [
    "national_id",
    "name",
    "region_code",
    "to_region_code",
    "paying_region_code",
    "transfer_id",
    "reported_on",
    "status",
    "decided_on",
]


def _day(at: datetime | None, tz: str) -> str:
    return f"{at.astimezone(ZoneInfo(tz)):%Y-%m-%d}" if at else ""


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


def reinstatement_rows(
    *, session: Session, season_year: int | None = None, tz: str = DEFAULT_TZ
) -> Iterator[list[str]]:
    """The back-pay ledger in order: a reinstatement (payment resumes in effective_month, with back-pay months)
    or a reversal of one (negative months; what was paid from effective_month on is void again)."""
    stmt = (
        select(Pensioner.national_id, Pensioner.name, Pensioner.region_code, Reinstatement)
        .join(Reinstatement, Reinstatement.pensioner_id == Pensioner.id)
        .order_by(Reinstatement.id)
        .execution_options(yield_per=5000)
    )
    if season_year is not None:
        stmt = stmt.where(Reinstatement.season_year == season_year)
    for nid, name, region, r in session.execute(stmt):
        yield [
            nid,
            name,
            region,
            str(r.season_year),
            f"{r.suspended_from:%Y-%m}",
            f"{r.effective_date:%Y-%m}",
            str(r.back_pay_months),
            r.kind,
            str(r.id),
            str(r.reverses_id) if r.reverses_id else "",
            _day(r.recorded_at, tz),
        ]


def hold_rows(*, session: Session, tz: str = DEFAULT_TZ) -> Iterator[list[str]]:
    """Every hold on a reported death: on_hold (not paid from held_from_month), released (held months to pay
    back) or terminated."""
    stmt = (
        select(Pensioner.national_id, Pensioner.name, Pensioner.region_code, PensionHold)
        .join(PensionHold, PensionHold.pensioner_id == Pensioner.id)
        .order_by(PensionHold.id)
    )
    for nid, name, region, h in session.execute(stmt):
        yield [
            nid,
            name,
            region,
            str(h.id),
            h.reason,
            f"{h.effective_date:%Y-%m}",
            h.decision or PensionStatus.ON_HOLD.value,
            _day(h.decided_at, tz),
            "" if h.back_pay_months is None else str(h.back_pay_months),
        ]


def transfer_rows(*, session: Session, tz: str = DEFAULT_TZ) -> Iterator[list[str]]:
    """Moves out of the city reported by home visits, for the paying region (pending, confirmed, rejected)."""
    stmt = (
        select(Pensioner.national_id, Pensioner.name, ResidenceTransfer)
        .join(ResidenceTransfer, ResidenceTransfer.pensioner_id == Pensioner.id)
        .order_by(ResidenceTransfer.id)
    )
    for nid, name, t in session.execute(stmt):
        yield [
            nid,
            name,
            t.from_region_code,
            t.to_region_code or "",
            t.paying_region_code or "",
            str(t.id),
            _day(t.reported_at, tz),
            t.status,
            _day(t.decided_at, tz),
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
