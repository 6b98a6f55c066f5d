"""Idempotency-Key handling: the first answer to a write is stored and replayed on retries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, DomainError, InvalidInput
from models import IdempotencyRecord


class ReplayedError(DomainError):
    """The stored error answer of an earlier try with the same key."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"), body.get("message_en"), code=body.get("code"), detail=body.get("detail"))
        self.status_code = status_code


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 over the request's meaningful parts."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x1f")
    return digest.hexdigest()


def check_key(key: str | None) -> str:
    """Require a sane Idempotency-Key header."""
    if not key or len(key) > 128 or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "请提供Idempotency-Key请求头（1–128个ASCII字符）。",
            "An Idempotency-Key header (1–128 ASCII characters) is required.",
            code="idempotency_key_required",
        )
    return key


def run_once(
    *,
    session: Session,
    scope: str,
    key: str,
    request_hash: str,
    action: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """Run action once per (scope, key); returns (status, body, replayed)."""
    existing = session.get(IdempotencyRecord, (scope, key), with_for_update=True)
    if existing is None:
        try:
            with session.begin_nested():
                session.add(IdempotencyRecord(scope=scope, key=key, request_hash=request_hash))
        except IntegrityError:
            existing = session.get(IdempotencyRecord, (scope, key), populate_existing=True, with_for_update=True)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise InvalidInput(
                "该Idempotency-Key已用于另一个请求。",
                "This Idempotency-Key was used for a different request.",
                code="idempotency_key_reused",
            )
        if existing.status_code is None or existing.response is None:
            raise Conflict(
                "相同请求正在处理中，请稍后重试。",
                "The same request is in progress; retry shortly.",
                code="request_in_progress",
            )
        if existing.status_code >= 400:
            raise ReplayedError(existing.status_code, existing.response)
        return existing.status_code, existing.response, True
    record = session.get(IdempotencyRecord, (scope, key))
    assert record is not None
    try:
        status, body = action()
    except DomainError as exc:
        if exc.keep_changes:  # the failure is part of the record (e.g. a failed attempt): replay it as is
            record.status_code = exc.status_code
            record.response = exc.to_dict()
            session.flush()
        raise
    record.status_code = status
    record.response = body
    session.flush()
    return status, body, False
