"""CLI command: the SMS outbox."""

from __future__ import annotations

import json
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
