"""Writing audit events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, cast, insert, literal, select
from sqlalchemy.orm import Session

from models import AuditEvent
from models.base import utcnow


def record(
    *,
    session: Session,
    actor_type: str,
    actor_id: int | str | None,
    action: str,
    target_type: str,
    target_id: int | str | None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (flushed with the caller's transaction)."""
    event = AuditEvent(
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
    )
    session.add(event)
    return event


def record_from_select(
    *,
    session: Session,
    actor_type: str,
    actor_id: int | str | None,
    action: str,
    target_type: str,
    query: Select[Any],
) -> int:
    """Append one audit event per row of `query` (target id, JSON detail) in one INSERT … SELECT; returns how many."""
    rows = query.subquery()
    target, detail = rows.c
    columns = AuditEvent.__table__.c
    result = session.execute(
        insert(AuditEvent).from_select(
            ["at", "actor_type", "actor_id", "action", "target_type", "target_id", "detail"],
            select(
                literal(utcnow(), columns.at.type),
                literal(actor_type, columns.actor_type.type),
                literal(None if actor_id is None else str(actor_id), columns.actor_id.type),
                literal(action, columns.action.type),
                literal(target_type, columns.target_type.type),
                cast(target, columns.target_id.type),
                detail,
            ),
        ),
        execution_options={"preserve_rowcount": True},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record_many(*, session: Session, events: list[dict[str, Any]]) -> None:
    """Append many audit events in one executemany INSERT (rows whose detail is built in Python)."""
    if not events:
        return
    at = utcnow()
    rows = [
        {
            **e,
            "at": at,
            "actor_id": None if e["actor_id"] is None else str(e["actor_id"]),
            "target_id": None if e["target_id"] is None else str(e["target_id"]),
        }
        for e in events
    ]
    session.execute(insert(AuditEvent), rows)
