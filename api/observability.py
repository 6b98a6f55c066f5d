"""Structured JSON logs with request ids, the request middleware, and the /metrics endpoint."""

from __future__ import annotations

import hmac
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from core.errors import DomainError, NotAuthenticated
from core.settings import Settings
from models import Notification
from models.engine import make_engine, make_session_factory

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("pension_cert.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# An 18-character resident ID anywhere in a message is masked to its first 6 and last 4 characters.
_NATIONAL_ID = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def mask_national_ids(text: str) -> str:
    """Mask resident identity numbers (110101195003041234 → 110101********1234)."""
    return _NATIONAL_ID.sub(r"\1********\2", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON (bytes values are never written, only their length)."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_national_ids(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key in _STD_ATTRS or key in out or key.startswith("_"):
                continue
            out[key] = _safe(value)
        if record.exc_info:
            out["exc"] = mask_national_ids(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def _safe(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return mask_national_ids(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # numpy arrays (encodings, frames)
        return f"<array {getattr(value, 'shape', '')}>"
    return mask_national_ids(str(value))[:500]


def configure_logging(level: str = "INFO") -> None:
    """Route Python logging (ours, uvicorn's, APScheduler's) to stderr as JSON lines; idempotent."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # replaced by pension_cert.access lines


def route_template(scope: Scope) -> str:
    """The matched route's path template (/api/v1/pensioners/{pensioner_id}), or `unmatched`.

    Built from the request path with each path parameter's segment replaced by its name: routes of
    included routers do not carry their prefix in this FastAPI version.
    """
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join("{" + params[seg] + "}" if seg in params else seg for seg in segments)


class RequestContextMiddleware:
    """Accepts or makes X-Request-ID, echoes it, and writes one access line and the HTTP metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope)
            method = scope.get("method", "")
            metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            metrics.HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
            access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "path": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "request_id": rid,
                },
            )
            request_id_var.reset(token)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition: HTTP, face decisions, sweeps, outbox backlog (read at scrape)."""
    token = request.app.state.settings.metrics_token
    if token and not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
        raise NotAuthenticated("需要监控令牌。", "A metrics token is required.", code="metrics_token_required")
    factory = request.app.state.session_factory

    def outbox() -> dict[str, float]:
        with factory() as session:
            rows = dict(
                session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.status.in_(("pending", "failed")))
                    .group_by(Notification.status)
                ).all()
            )
        return {
            "pension_cert_outbox_pending": float(rows.get("pending", 0)),
            "pension_cert_outbox_failed": float(rows.get("failed", 0)),
        }

    return Response(metrics.render(metrics.ScrapeGauges(outbox)), media_type=metrics.CONTENT_TYPE)


def metrics_app(settings: Settings) -> FastAPI:
    """An app serving only /metrics, for PENSION_CERT_METRICS_PORT (a listener apart from the public one)."""
    app = FastAPI(title="pension-cert metrics", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout_seconds)
    app.state.session_factory = make_session_factory(app.state.engine)

    def refused(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)

    app.exception_handler(DomainError)(refused)
    app.include_router(router)
    return app
