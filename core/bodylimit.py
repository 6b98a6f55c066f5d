"""Request-body limits enforced at the ASGI level, before any route, form parser or authentication reads a byte."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import NotAuthenticated, PayloadTooLarge


@dataclass(frozen=True)
class RouteLimit:
    """An upload route's budget (read per request, so it follows the settings) and whether it needs a credential."""

    methods: frozenset[str]
    path: re.Pattern[str]
    max_bytes: Callable[[], int]
    needs_credentials: bool = True


class BodyTooLarge(HTTPException):
    """Raised from receive() when a streamed body passes its budget; answered as 413 payload_too_large."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413)
        self.limit_bytes = limit


def too_large(limit: int) -> PayloadTooLarge:
    """The domain error of a body over its budget."""
    return PayloadTooLarge(
        "请求体过大，已拒绝。",
        "The request body is too large; refused.",
        detail={"limit_bytes": limit},
    )


class BodyLimitMiddleware:
    """Refuses a declared Content-Length over the route's budget unread, and stops a streamed body at it.

    Upload routes (multipart) get their own budget and, without an Authorization header, a 401 before their
    body is read; every other route gets `default_bytes` (JSON and small forms).
    """

    def __init__(self, app: ASGIApp, *, default_bytes: Callable[[], int], routes: Sequence[RouteLimit]) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.routes = tuple(routes)

    def _route(self, scope: Scope) -> RouteLimit | None:
        method, path = scope.get("method", ""), scope.get("path", "")
        return next((r for r in self.routes if method in r.methods and r.path.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        limit = route.max_bytes() if route else self.default_bytes()
        headers = dict(scope.get("headers") or [])
        if route is not None and route.needs_credentials and not headers.get(b"authorization"):
            await _answer(send, NotAuthenticated().to_dict(), 401, close=True)
            return
        declared = _content_length(headers.get(b"content-length"))
        if declared is not None and declared > limit:
            await _answer(send, too_large(limit).to_dict(), 413, close=True)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(raw: bytes | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


async def _answer(send: Send, body: dict[str, Any], status: int, *, close: bool = False) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if close:
        headers.append((b"connection", b"close"))  # the unread body must not be taken for the next request
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
