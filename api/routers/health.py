"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from faces import pool as facepool
from verification.errors import ModelFileError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database down or busy, or a face model file missing/altered"}})
def readyz(request: Request) -> JSONResponse:
    """The database answers on a fresh connection within seconds and every face model file is present with its sha256."""
    try:
        facepool.load_checked_models()
    except ModelFileError as exc:
        return JSONResponse({"status": "unavailable", "models": str(exc)}, status_code=503)
    database = request.app.state.readiness_probe()  # a fresh connection with a short timeout, never the pool's
    if database != "up":
        return JSONResponse({"status": "unavailable", "database": database}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
