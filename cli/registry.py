"""CLI commands: staff accounts, region and roster imports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress

from cli.common import acting_admin, app, err
from cli.common import factory as _factory
from cli.common import fail as _fail
from cli.common import read_file as _read_file
from core.errors import DomainError
from core.settings import get_settings
from models.base import utcnow
from models.engine import session_scope


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


StaffOption = Annotated[
    str | None, typer.Option("--staff", help="Act as this admin: their jurisdiction, their name in the audit")
]


@app.command("import-regions")
def import_regions(file: Path, staff: StaffOption = None) -> None:
    """Import regions from CSV: code,name,parent_code,level (city/district/town/community)."""
    from registry import regions as region_service

    settings = get_settings()
    data = _read_file(file, settings.max_import_bytes)
    try:
        with session_scope(_factory(settings)) as session:
            actor, jurisdiction = acting_admin(session, staff)
            result = region_service.import_regions(
                session=session, data=data, actor_id=actor, jurisdiction=jurisdiction
            )
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"regions inserted {result.inserted}, updated {result.updated}, refused {len(result.rejected)}")
    for r in result.rejected[:50]:
        typer.echo(f"  line {r['line']}: {r['reason']}")


@app.command("import-roster")
def import_roster(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    staff: StaffOption = None,
    confirm_phone_changes: Annotated[
        bool, typer.Option(help="Needed when the file changes more phone numbers than ROSTER_MAX_PHONE_CHANGES")
    ] = False,
) -> None:
    """Import pensioners from CSV (UTF-8, UTF-8 with BOM or GBK); upsert by national ID."""
    from registry import roster as roster_service

    settings = get_settings()
    data = _read_file(file, settings.max_import_bytes)
    show = sys.stderr.isatty() and not as_json
    try:
        with session_scope(_factory(settings)) as session, Progress(console=err, disable=not show) as bar:
            task = bar.add_task("importing", total=None)
            actor, jurisdiction = acting_admin(session, staff)
            now = utcnow()
            result = roster_service.import_roster(
                session=session,
                data=data,
                actor_id=actor,
                jurisdiction=jurisdiction,
                settings=settings,
                confirm_phone_changes=confirm_phone_changes,
                now=now,
                today=now.astimezone(ZoneInfo(settings.timezone)).date(),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except DomainError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        typer.echo(
            f"inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
            f"rejected {len(result.rejected)}, phone numbers changed {result.phone_changes} (encoding {result.encoding})"
        )
        for r in result.rejected[:50]:
            typer.echo(f"  line {r['line']}: {r['reason']}")
