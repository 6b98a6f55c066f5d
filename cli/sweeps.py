"""CLI commands: the sweeps once, and the scheduler process that runs them."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from cli.common import app, err, factory
from core.settings import get_settings
from models.base import utcnow


def _parse_now(raw: str | None) -> datetime:
    if not raw:
        return utcnow()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        err.print(f"[red]invalid_datetime[/red]: {raw} (use ISO 8601, e.g. 2026-06-01T09:00+08:00)")
        raise typer.Exit(2)
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return value.astimezone(UTC)


@app.command("run-sweeps")
def run_sweeps(
    now: Annotated[
        str | None, typer.Option(help="As of this ISO instant (default now); no offset = local time")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only these sweeps (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Run every sweep (home visits, reminders, suspensions, outbox, purge_evidence) once, as of an instant."""
    from scheduler import sweeps

    settings = get_settings()
    instant = _parse_now(now)
    try:
        result = sweeps.run_sweeps(session_factory=factory(settings), settings=settings, now=instant, names=only)
    except KeyError as exc:
        err.print(f"[red]unknown_sweep[/red]: {exc}")
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


@app.command("scheduler")
def run_scheduler() -> None:
    """Run the APScheduler process (daily sweeps, outbox every few minutes) until stopped."""
    from api.observability import configure_logging
    from scheduler.jobs import build_scheduler

    configure_logging(get_settings().log_level)
    scheduler = build_scheduler(get_settings(), kind="blocking")
    typer.echo("scheduler running; jobs: " + ", ".join(j.id for j in scheduler.get_jobs()))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
