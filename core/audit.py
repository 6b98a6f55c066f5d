"""Writing audit events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent


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
