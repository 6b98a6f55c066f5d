"""/docs: Swagger UI served from the service's own files (works offline), and OpenAPI details FastAPI leaves out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response

from core.errors import NotFound

router = APIRouter(include_in_schema=False)
ROOT = Path(__file__).resolve().parent.parent / "static" / "swagger"
_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# Swagger UI (React) sets a few inline styles; scripts only from the service, and requests only to it.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pension-cert API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" href="/docs/static/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/init.js"></script>
</body></html>"""
IDEMPOTENCY_HEADER = "Idempotency-Key"


@router.get("/docs")
def docs() -> HTMLResponse:
    """Swagger UI on /openapi.json."""
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


@router.get("/docs/static/{name}")
def docs_file(name: str) -> Response:
    """One of Swagger UI's files."""
    media = _FILES.get(name)
    if media is None:
        raise NotFound()
    return Response((ROOT / name).read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=86400"})


def _mark_idempotency_required(schema: dict[str, Any]) -> None:
    """Every route taking an Idempotency-Key refuses a write without one (core.idempotency.check_key): say so."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "header" and parameter.get("name") == IDEMPOTENCY_HEADER:
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 128}
                    parameter["description"] = (
                        "Required. A random key per write (1-128 ASCII characters); a retry with the same key "
                        "replays the first answer instead of doing the write again."
                    )


def install_openapi(app: FastAPI) -> None:
    """The app's OpenAPI document with the details above."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _mark_idempotency_required(FastAPI.openapi(app))  # FastAPI keeps the document in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
