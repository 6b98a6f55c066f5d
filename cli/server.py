"""CLI commands: database schema and the HTTP service."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from cli.common import app, db_app, err
from cli.common import factory as _factory
from core.settings import get_settings
from models.engine import session_scope


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    from models.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo("database upgraded")


WORKER_START_SECONDS = 120


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
        # A worker imports dlib's and OpenCV's models before it answers uvicorn's health check: 16-18 s measured
        # on a busy 2-core host, where the default 5 s killed and restarted every worker forever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )
