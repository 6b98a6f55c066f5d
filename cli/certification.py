"""CLI commands: seasons, life-evidence and death imports, payroll exports."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer

from cli.common import acting_admin, app, err, factory, fail, os_user, read_file
from core.errors import DomainError, InvalidInput
from core.settings import get_settings
from models.base import utcnow
from models.engine import session_scope

season_app = typer.Typer(help="Certification seasons.", no_args_is_help=True)
export_app = typer.Typer(help="Payroll exports (CSV).", no_args_is_help=True)
app.add_typer(season_app, name="season")
app.add_typer(export_app, name="export")


@season_app.command("create")
def season_create(
    year: Annotated[int, typer.Option(help="Season year")],
    open_date: Annotated[str | None, typer.Option("--open", help="Open date YYYY-MM-DD (default 04-01)")] = None,
    close_date: Annotated[str | None, typer.Option("--close", help="Close date YYYY-MM-DD (default 06-30)")] = None,
    grace_days: Annotated[int | None, typer.Option(help="Grace days after close")] = None,
    staff: Annotated[str | None, typer.Option(help="Act as this admin (only the service city's may)")] = None,
) -> None:
    """Create a season; suspension takes effect the 1st of the month after close + grace."""
    from certification import seasons

    settings = get_settings()
    try:
        with session_scope(factory(settings)) as session:
            actor, jurisdiction = acting_admin(session, staff)
            s = seasons.create_season(
                session=session,
                settings=settings,
                year=year,
                open_date=_date_opt(open_date),
                close_date=_date_opt(close_date),
                grace_days=grace_days,
                actor_id=actor if isinstance(actor, int) else None,
                jurisdiction=jurisdiction,
            )
            typer.echo(
                f"season {s.year}: open {s.open_date}, close {s.close_date}, grace {s.grace_days} days, "
                f"suspension effective {s.suspend_from_date}"
            )
    except DomainError as exc:
        fail(exc)


@season_app.command("extend")
def season_extend(
    year: Annotated[int, typer.Option(help="Season year")],
    region: Annotated[str, typer.Option(help="12-digit division code (community/town/district/city)")],
    close: Annotated[str, typer.Option(help="The region's close date YYYY-MM-DD")],
    grace_days: Annotated[int | None, typer.Option(help="Grace days (default the season's)")] = None,
    staff: Annotated[
        str | None, typer.Option(help="Act as this admin (regions inside their jurisdiction only)")
    ] = None,
) -> None:
    """Give a region its own close date for a season."""
    from certification import seasons, suspension

    settings = get_settings()
    try:
        close_date = _date_opt(close)
        assert close_date is not None
        with session_scope(factory(settings)) as session:
            actor, jurisdiction = acting_admin(session, staff)
            w = seasons.extend_window(
                session=session,
                year=year,
                region_code=region,
                close_date=close_date,
                grace_days=grace_days,
                actor_id=actor if isinstance(actor, int) else None,
                jurisdiction=jurisdiction,
                settings=settings,
            )
            lifted = suspension.lift_after_window_change(
                session=session, settings=settings, year=year, now=utcnow(), actor_id=None
            )
            typer.echo(
                f"season {year} region {w.region_code}: close {w.close_date}, suspension {w.suspend_from_date}; "
                f"{lifted} suspended pensioners back inside the window reinstated"
            )
    except DomainError as exc:
        fail(exc)


@season_app.command("list")
def season_list() -> None:
    """List seasons."""
    from certification import seasons

    with session_scope(factory(get_settings())) as session:
        for s in seasons.list_seasons(session=session):
            typer.echo(
                f"{s.year}: {s.open_date} – {s.close_date} (+{s.grace_days} days), suspend {s.suspend_from_date}"
            )


class InvalidDate(InvalidInput):
    """A date option that is not YYYY-MM-DD."""

    code = "invalid_date"
    message_zh = "日期无效。"
    message_en = "Invalid date (use YYYY-MM-DD)."

    def __init__(self, raw: str) -> None:
        super().__init__(f"日期无效：{raw}", f"Invalid date: {raw} (use YYYY-MM-DD)")


def _date_opt(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidDate(raw)


@app.command("import-life-evidence")
def import_life_evidence(
    file: Path, as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False
) -> None:
    """Certify from other systems' evidence (CSV national_id,evidence_date,source); all rows or none."""
    from certification import passive, reminders

    settings = get_settings()
    data = read_file(file, settings.max_import_bytes)
    sessions = factory(settings)
    try:
        with session_scope(sessions) as session:
            result = passive.import_life_evidence(session=session, settings=settings, data=data, now=utcnow())
    except DomainError as exc:
        fail(exc, as_json)
    # After the commit, in short transactions of their own: the reminders of everyone now certified expire unsent
    # (the import leaves them to keep its one transaction short; the next evidence import finishes an interrupted run).
    out = result.as_dict() | {
        "reminders_expired_certified": reminders.expire_certified_in_batches(session_factory=sessions)
    }
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(" ".join(f"{k} {v}," for k, v in out.items()).rstrip(","))


@app.command("import-deaths")
def import_deaths(
    file: Path,
    out: Annotated[Path | None, typer.Option(help="Write the recovery list (CSV) here instead of stdout")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Terminate pensions (CSV national_id,death_date) and list months paid after death for recovery."""
    from certification import passive

    settings = get_settings()
    data = read_file(file, settings.max_import_bytes)
    try:
        with session_scope(factory(settings)) as session:
            result = passive.import_deaths(session=session, settings=settings, data=data, now=utcnow())
    except DomainError as exc:
        fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    err.print(f"terminated {result.terminated}, already terminated {result.already_terminated}")
    rows = (
        [r["national_id"], r["name"], r["region_code"], r["death_date"], str(r["month_count"]), " ".join(r["months"])]
        for r in result.recoveries
    )
    header = ["national_id", "name", "region_code", "death_date", "months_paid_after_death", "months"]
    _write(out, header, rows)


@export_app.command("suspensions")
def export_suspensions(
    season: Annotated[int, typer.Option(help="Season year")],
    out: Annotated[Path | None, typer.Option(help="Output file (default stdout)")] = None,
) -> None:
    """Pensions suspended for a season (national ID, name, region, effective month)."""
    from certification import exports

    with session_scope(factory(get_settings())) as session:
        n = _write(out, exports.SUSPENSION_COLUMNS, exports.suspension_rows(session=session, season_year=season))
        exports.record_export(session=session, export="suspensions", season_year=season, rows=n, actor_id=os_user())


@export_app.command("reinstatements")
def export_reinstatements(
    season: Annotated[int | None, typer.Option(help="Only this season")] = None,
    out: Annotated[Path | None, typer.Option(help="Output file (default stdout)")] = None,
) -> None:
    """The back-pay ledger: reinstatements (month payment resumes, back-pay months) and reversals of them."""
    from certification import exports

    settings = get_settings()
    with session_scope(factory(settings)) as session:
        rows = exports.reinstatement_rows(session=session, season_year=season, tz=settings.timezone)
        n = _write(out, exports.REINSTATEMENT_COLUMNS, rows)
        exports.record_export(session=session, export="reinstatements", season_year=season, rows=n, actor_id=os_user())


@export_app.command("holds")
def export_holds(out: Annotated[Path | None, typer.Option(help="Output file (default stdout)")] = None) -> None:
    """Pensions held on a reported death: on hold, released (months to pay back) or terminated."""
    from certification import exports

    settings = get_settings()
    with session_scope(factory(settings)) as session:
        n = _write(out, exports.HOLD_COLUMNS, exports.hold_rows(session=session, tz=settings.timezone))
        exports.record_export(session=session, export="holds", season_year=None, rows=n, actor_id=os_user())


@export_app.command("transfers")
def export_transfers(out: Annotated[Path | None, typer.Option(help="Output file (default stdout)")] = None) -> None:
    """Moves out of the city reported by home visits, for the paying region."""
    from certification import exports

    settings = get_settings()
    with session_scope(factory(settings)) as session:
        n = _write(out, exports.TRANSFER_COLUMNS, exports.transfer_rows(session=session, tz=settings.timezone))
        exports.record_export(session=session, export="transfers", season_year=None, rows=n, actor_id=os_user())


def _write(out: Path | None, header: list[str], rows: object) -> int:
    from certification import exports

    if out is None:
        n = exports.write_csv(sys.stdout, header, rows)  # type: ignore[arg-type]
    else:
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            stream: TextIO = fh
            n = exports.write_csv(stream, header, rows)  # type: ignore[arg-type]
    err.print(f"{n} rows")
    return n
