"""CLI command: the SMS outbox."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from cli.common import app
from cli.common import factory as _factory
from core.settings import get_settings
from models.engine import session_scope


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


def _sender_process(lanes: list[str], once: bool, fixed_now: str | None) -> dict[str, int]:
    """One sender: rounds until the lanes are empty (--once) or until stopped; stale reminders expire as claimed."""
    import signal
    import threading

    from certification import reminders  # noqa: F401  (registers the reminder screen on claimed batches)
    from cli.sweeps import _parse_now
    from messaging import sender
    from messaging.gateways import make_gateways
    from models.base import utcnow

    settings = get_settings()
    session_factory = _factory(settings)
    pinned = _parse_now(fixed_now) if fixed_now else None

    def now() -> datetime:
        return pinned or utcnow()

    gateways = make_gateways(settings)
    if once:
        cfg = sender.SenderConfig.from_settings(settings)
        got = sender.drain(
            session_factory=session_factory, gateways=gateways, now=now, cfg=cfg, lanes=lanes, budget_seconds=1e9
        )
        return got.as_dict()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    got = sender.serve(
        session_factory=session_factory,
        gateways=gateways,
        settings=settings,
        lanes=lanes,
        stop=stop,
        now=now,
    )
    return got.as_dict()


@app.command("send-outbox")
def send_outbox(
    lane: Annotated[str, typer.Option(help="fast, bulk or all (the fast lane always goes first)")] = "all",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Sender processes sharing the outbox")] = 1,
    once: Annotated[bool, typer.Option("--once", help="Stop when nothing is due instead of polling")] = False,
    now: Annotated[str | None, typer.Option(help="Pin the clock (ISO instant; tests and drills)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hand outbox messages to the gateways: batched, paced, leased; several processes may share the outbox."""
    import multiprocessing

    lanes = {"fast": ["fast"], "bulk": ["fast", "bulk"], "all": ["fast", "bulk"]}.get(lane)
    if lanes is None:
        raise typer.BadParameter("lane must be fast, bulk or all")
    if workers == 1:
        result = _sender_process(lanes, once, now)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            parts = pool.starmap(_sender_process, [(lanes, once, now)] * workers)
        result = {k: sum(p[k] for p in parts) for k in parts[0]}
    typer.echo(json.dumps(result) if as_json else ", ".join(f"{k}={v}" for k, v in result.items()))
