"""CLI commands: database schema and the HTTP service."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from cli.common import app, db_app, err
from cli.common import factory as _factory
from core.settings import Settings, get_settings
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

        from cli.demo import build_demo_if_empty, open_today, try_these, walk_season

        factory = _factory(settings)
        with session_scope(factory) as session:
            built = build_demo_if_empty(session=session)
        if built:
            today = date.today()
            built["season_walk"] = walk_season(
                session_factory=factory, settings=settings, year=today.year, as_of=today, window=open_today(today)
            )
            typer.echo(f"demo city built: {json.dumps(built, ensure_ascii=False)}")
            with session_scope(factory) as session:
                people = try_these(session=session, year=today.year)
            typer.echo("demo pensioners to try at /app/ (their login code: pension-cert outbox --phone NUMBER):")
            for p in people:
                typer.echo(f"  {p['national_id']}  {p['name']}  phone {p['phone']}  family phone {p['family_phone']}")
    n = workers or settings.workers
    os.environ["PENSION_CERT_WORKERS"] = str(n)  # worker processes read settings from the environment
    if settings.embed_scheduler and n != 1:
        err.print("[yellow]embed_scheduler ignored with several workers: run `pension-cert scheduler` once[/yellow]")
    from api.observability import configure_logging

    configure_logging(settings.log_level)
    if settings.metrics_port:
        _serve_metrics(settings)
    uvicorn.run(
        "cli.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=n,
        log_config=None,  # JSON lines from api.observability; one access line per request from the middleware
        access_log=False,
        **proxy_options(settings),
        # A worker imports dlib's and OpenCV's models before it answers uvicorn's health check: 16-18 s measured
        # on a busy 2-core host, where the default 5 s killed and restarted every worker forever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """X-Forwarded-For/-Proto are believed only from PENSION_CERT_TRUSTED_PROXIES (uvicorn would trust 127.0.0.1
    by default, or FORWARDED_ALLOW_IPS); with none configured the TCP peer is the client."""
    trusted = settings.trusted_proxy_list
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": []}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def _serve_metrics(settings: Settings) -> None:
    """/metrics on its own listener, in a thread of this process (one worker: the app's own counters;
    several: the supervisor aggregates the workers through PROMETHEUS_MULTIPROC_DIR)."""
    import threading

    import uvicorn

    from api.observability import metrics_app

    config = uvicorn.Config(
        metrics_app(settings),
        host=settings.metrics_host,
        port=settings.metrics_port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="metrics-listener", daemon=True).start()
    err.print(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
