"""CLI commands: database, serve, staff, region and roster import, outbox, demo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from cli.common import app, db_app, err
from cli.common import factory as _factory
from cli.common import fail as _fail
from cli.common import read_file as _read_file
from core.errors import DomainError
from core.settings import get_settings
from models.engine import session_scope


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    from models.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo("database upgraded")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Build the demo city first if the database is empty")] = False,
) -> None:
    """Migrate the database and run the HTTP service."""
    import uvicorn

    from models.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    if demo:
        from datetime import date

        from cli.demo import build_demo_if_empty, walk_season

        factory = _factory(settings)
        with session_scope(factory) as session:
            built = build_demo_if_empty(session=session)
        if built:
            today = date.today()
            built["season_walk"] = walk_season(session_factory=factory, settings=settings, year=today.year, as_of=today)
            typer.echo(f"demo city built: {json.dumps(built, ensure_ascii=False)}")
    n = workers or settings.workers
    os.environ["PENSION_CERT_WORKERS"] = str(n)  # worker processes read settings from the environment
    if settings.embed_scheduler and n != 1:
        err.print("[yellow]embed_scheduler ignored with several workers: run `pension-cert scheduler` once[/yellow]")
    from api.observability import configure_logging

    configure_logging(settings.log_level)
    uvicorn.run(
        "cli.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=n,
        log_config=None,  # JSON lines from api.observability; one access line per request from the middleware
        access_log=False,
    )


@app.command("create-staff")
def create_staff(
    username: Annotated[str, typer.Option(help="Login name")],
    role: Annotated[str, typer.Option(help="admin, counter, field or supervisor")],
    region: Annotated[str, typer.Option(help="Jurisdiction division code")],
    display_name: Annotated[str | None, typer.Option(help="Name shown")] = None,
    phone: Annotated[str | None, typer.Option(help="Work mobile (escalations are texted to it)")] = None,
) -> None:
    """Create a staff account; the password is read from standard input."""
    from registry import staff as staff_service

    password = (
        sys.stdin.readline().rstrip("\n")
        if not sys.stdin.isatty()
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        with session_scope(_factory(get_settings())) as session:
            user = staff_service.create_staff(
                session=session,
                username=username,
                password=password,
                role=role,
                region_code=region,
                display_name=display_name,
                phone=phone,
            )
            typer.echo(f"created staff {user.username} (id {user.id}, role {user.role}, region {user.region_code})")
    except DomainError as exc:
        _fail(exc)


@app.command("import-regions")
def import_regions(file: Path) -> None:
    """Import regions from CSV: code,name,parent_code,level (city/district/town/community)."""
    from registry import regions as region_service

    settings = get_settings()
    data = _read_file(file, settings.max_import_bytes)
    try:
        with session_scope(_factory(settings)) as session:
            result = region_service.import_regions(session=session, data=data)
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"regions inserted {result.inserted}, updated {result.updated}")


@app.command("import-roster")
def import_roster(
    file: Path, as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False
) -> None:
    """Import pensioners from CSV (UTF-8, UTF-8 with BOM or GBK); upsert by national ID."""
    from registry import roster as roster_service

    settings = get_settings()
    data = _read_file(file, settings.max_import_bytes)
    show = sys.stderr.isatty() and not as_json
    try:
        with session_scope(_factory(settings)) as session, Progress(console=err, disable=not show) as bar:
            task = bar.add_task("importing", total=None)
            result = roster_service.import_roster(
                session=session, data=data, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    except DomainError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        typer.echo(
            f"inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
            f"rejected {len(result.rejected)} (encoding {result.encoding})"
        )
        for r in result.rejected[:50]:
            typer.echo(f"  line {r['line']}: {r['reason']}")


@app.command("outbox")
def show_outbox(
    phone: Annotated[str | None, typer.Option(help="Only messages to this phone")] = None,
    limit: int = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the newest outbox messages (what the SMS gateway sent or will send)."""
    from sqlalchemy import select

    from messaging.outbox import message_text
    from models import Notification

    with session_scope(_factory(get_settings())) as session:
        stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if phone:
            stmt = stmt.where(Notification.phone == phone)
        rows = [
            {
                "id": n.id,
                "phone": n.phone,
                "kind": n.kind,
                "status": n.status,
                "created_at": n.created_at.isoformat(),
                "body_zh": message_text(n)[0],
                "body_en": message_text(n)[1],
            }
            for n in session.scalars(stmt)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"#{r['id']} {r['created_at']} {r['phone']} [{r['kind']}/{r['status']}] {r['body_zh']}")


@app.command("demo")
def demo(
    pensioners: Annotated[int, typer.Option(help="How many synthetic pensioners")] = 10_000,
    seed: int = 7,
    season: Annotated[int | None, typer.Option(help="Also walk this season (year) of the demo city")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Walk the season up to this date (YYYY-MM-DD; default today)")
    ] = None,
) -> None:
    """Build a Weihai-like demo city; with --season, run its certification season day by day."""
    from datetime import date

    from cli.demo import build_demo, walk_season
    from models.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    factory = _factory(settings)
    with session_scope(factory) as session:
        summary = build_demo(session=session, pensioners=pensioners, seed=seed)
    if season is not None:
        day = date.fromisoformat(as_of) if as_of else date.today()
        summary["season_walk"] = walk_season(
            session_factory=factory, settings=settings, year=season, as_of=day, seed=seed
        )
    typer.echo(json.dumps(summary, ensure_ascii=False))
