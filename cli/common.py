"""The Typer app (its `db` group filled by cli.server) and helpers shared by every CLI command module."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DomainError
from core.settings import Settings
from models import Region
from models.engine import make_engine, make_session_factory

app = typer.Typer(help="养老金领取资格认证 pension-cert: certification service operations.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)


def factory(settings: Settings) -> sessionmaker[Session]:
    """A session factory on the configured database."""
    return make_session_factory(make_engine(settings.database_url))


def fail(exc: DomainError, as_json: bool = False) -> None:
    """Print a domain error (bilingual, or JSON) and exit 1."""
    if as_json:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
    else:
        err.print(f"[red]{exc.code}[/red]: {exc.message_zh} / {exc.message_en}")
        if exc.detail:
            err.print(json.dumps(exc.detail, ensure_ascii=False)[:4000])
    raise typer.Exit(1)


def read_file(path: Path, limit: int) -> bytes:
    """Read a file, refusing it by size before reading."""
    if not path.is_file():
        err.print(f"[red]file_not_found[/red]: {path}")
        raise typer.Exit(2)
    size = path.stat().st_size
    if size > limit:
        err.print(
            f"[red]payload_too_large[/red]: 文件 {size} 字节超过上限 {limit} / file of {size} bytes exceeds the {limit}-byte limit"
        )
        raise typer.Exit(1)
    return path.read_bytes()


def acting_admin(session: Session, username: str | None) -> tuple[int | str, Region | None]:
    """(audit actor, jurisdiction) of a CLI write: the named active admin's, or the operator's ("cli", everywhere)."""
    from sqlalchemy import select

    from core.errors import Forbidden
    from models import StaffUser
    from models.enums import StaffRole
    from registry.errors import StaffNotFound
    from registry.regions import get_region

    if username is None:
        return "cli", None
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if staff is None or not staff.active:
        raise StaffNotFound()
    if staff.role != StaffRole.ADMIN.value:
        raise Forbidden()
    return staff.id, get_region(session=session, code=staff.region_code)


def os_user() -> str:
    """Who runs the command (audit actor of CLI exports): the login name, else the numeric uid."""
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
