"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import limits, observability
from api.routers import docs, field_app, health, pensioner_app, staff_app
from auth import router as auth
from certification import app_router as me
from certification import receipt_router as receipts
from certification import router as seasons
from core.bodylimit import BodyLimitMiddleware, BodyTooLarge, too_large
from core.errors import DatabaseUnavailable, DomainError, database_error
from core.schemas import ErrorBody
from core.settings import Settings, get_settings
from faces import evidence_router as evidence
from faces import pool as facepool
from faces import router as faces
from faces import search_index
from faces.matching import SFACE, active_models
from home_visit import router as home_visit_router
from messaging import router as messaging
from models.engine import make_engine, make_session_factory, readiness_probe
from registry import me_router as my_registry
from registry import router as admin
from risk import card_router as card
from risk import router as risk

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    """Background work started with the app (e.g. the embedded scheduler)."""

    def shutdown(self, wait: bool = True) -> None: ...


BackgroundStarter = Callable[[Settings], Stoppable | None]
_ERRORS = {
    400: {"model": ErrorBody, "description": "Bad request"},
    401: {"model": ErrorBody, "description": "Not authenticated"},
    403: {"model": ErrorBody, "description": "Role not allowed"},
    404: {"model": ErrorBody, "description": "Not found or outside your scope"},
    409: {"model": ErrorBody, "description": "Conflict with current state"},
    413: {"model": ErrorBody, "description": "Upload too large"},
    422: {"model": ErrorBody, "description": "Invalid input"},
    429: {"model": ErrorBody, "description": "Too many attempts"},
    503: {"model": ErrorBody, "description": "Face service or database busy: retry after the Retry-After seconds"},
}
_HTTP_CODES = {
    401: ("not_authenticated", "请先登录。", "Authentication required."),
    403: ("forbidden", "无权执行此操作。", "Not allowed."),
    404: ("not_found", "未找到。", "Not found."),
    405: ("method_not_allowed", "不支持该请求方法。", "Method not allowed."),
    413: ("payload_too_large", "请求体过大。", "Request body too large."),
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the face pool, start the background work given to create_app (if any); stop both on shutdown."""
    await asyncio.to_thread(facepool.warm)
    settings = app.state.settings
    if settings.face_index_preload and SFACE in active_models(settings):
        search_index.preload(session_factory=app.state.session_factory, settings=settings, model=SFACE)
    start = app.state.background
    worker = start(app.state.settings) if start is not None else None
    try:
        yield
    finally:
        if worker is not None:
            worker.shutdown(wait=False)
        facepool.shutdown()


def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)


def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    body = {"code": "invalid_input", "message": "输入数据无效。", "message_en": "Invalid input.", "detail": errors}
    return JSONResponse(body, status_code=422)


def _data_error(_request: Request, _exc: DataError) -> JSONResponse:
    # The database refused a value the validators let through (e.g. a NUL byte in text on PostgreSQL).
    body = {
        "code": "invalid_input",
        "message": "输入包含无法保存的字符或数值。",
        "message_en": "The input has characters or values that cannot be stored.",
    }
    return JSONResponse(body, status_code=422)


def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    # A busy or unreachable database is a 503 with Retry-After, in JSON, like every other error.
    error = database_error(exc) or DatabaseUnavailable()
    log.warning("database %s: %s", error.code, str(exc).splitlines()[0][:300])
    return JSONResponse(error.to_dict(), status_code=error.status_code, headers=error.headers)


def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    body = {"code": "internal_error", "message": "服务内部错误，请稍后再试。", "message_en": "Internal server error."}
    return JSONResponse(body, status_code=500)


def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, zh, en = _HTTP_CODES.get(exc.status_code, ("http_error", "请求失败。", str(exc.detail)))
    return JSONResponse(
        {"code": code, "message": zh, "message_en": en},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _body_too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(too_large(exc.limit_bytes).to_dict(), status_code=413, headers={"Connection": "close"})


def _add_error_handlers(app: FastAPI) -> None:
    """Every error leaves as JSON with a stable code and a bilingual message."""
    app.exception_handler(DomainError)(_domain_error)
    app.exception_handler(BodyTooLarge)(_body_too_large)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(DataError)(_data_error)
    app.exception_handler(OperationalError)(_database_error)
    app.exception_handler(PoolTimeout)(_database_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(Exception)(_internal_error)  # the traceback is still logged by the server


_API_ROUTERS = (
    auth.router,
    admin.router,
    faces.router,
    me.router,
    my_registry.router,
    receipts.router,
    seasons.router,
    home_visit_router.router,
    risk.router,
    card.router,
    evidence.router,
    messaging.router,
)


def _include_routers(app: FastAPI) -> None:
    """Health, metrics (unless on a port of their own) and the staff pages at the root; the domain APIs under /api/v1."""
    app.include_router(health.router)
    if not app.state.settings.metrics_port:  # otherwise on its own listener (observability.metrics_app)
        app.include_router(observability.router)
    app.include_router(staff_app.router)
    app.include_router(pensioner_app.router)
    app.include_router(docs.router)
    app.include_router(field_app.router)
    for router in _API_ROUTERS:
        app.include_router(router, prefix="/api/v1")


def _add_body_limits(app: FastAPI) -> None:
    """Every body is limited before it is read: JSON small, each upload route by its settings."""

    def live() -> Settings:
        current: Settings = app.state.settings
        return current

    app.add_middleware(
        BodyLimitMiddleware,
        default_bytes=lambda: live().max_json_bytes,
        routes=limits.upload_limits(_API_ROUTERS, prefix="/api/v1", settings=live),
    )


def create_app(settings: Settings | None = None, *, background: BackgroundStarter | None = None) -> FastAPI:
    """Build the app with its own engine and session factory; `background` starts work beside it (the scheduler)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="pension-cert",
        version="0.1.0",
        description="养老金领取资格认证服务 — annual proof-of-life certification for pensioners.",
        responses=_ERRORS,  # type: ignore[arg-type]
        lifespan=_lifespan,
        docs_url=None,  # api.routers.docs serves Swagger UI from the service's own files
        redoc_url=None,
    )
    docs.install_openapi(app)
    pool: dict[str, Any] = (
        {} if settings.is_sqlite else {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    )
    engine = make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout_seconds, **pool)
    app.state.readiness_probe = readiness_probe(settings.database_url, timeout=settings.readyz_timeout_seconds)
    app.state.settings = settings
    app.state.background = background
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    _add_error_handlers(app)
    _add_body_limits(app)
    app.add_middleware(observability.RequestContextMiddleware)  # outermost: 413s are logged and counted too
    facepool.configure(settings.face_workers, queue_per_worker=settings.face_queue_per_worker)
    _include_routers(app)
    return app
