"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from faces import pool as facepool
from verification.errors import ModelFileError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or a face model file missing/altered"}})
def readyz(request: Request) -> JSONResponse:
    """The database answers and every face model file is present with its sha256."""
    try:
        facepool.load_checked_models()
    except ModelFileError as exc:
        return JSONResponse({"status": "unavailable", "models": str(exc)}, status_code=503)
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
