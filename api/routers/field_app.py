"""The field worker's phone page at /staff/field/: static ES modules and the service worker that keeps visits offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from core.errors import NotFound

router = APIRouter(prefix="/staff/field", include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static" / "field"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# Files of the service only: no inline script or style; photos are blob: URLs; the camera is a media stream.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
}
# The page and the worker revalidate every time (a changed file reaches the phones at once when online).
_REVALIDATE = {"Cache-Control": "no-cache"}


def _assets() -> dict[str, bytes]:
    """The page's files, read once at import (a fixed list: nothing else under the folder is served)."""
    return {p.name: p.read_bytes() for p in STATIC.iterdir() if p.suffix in _TYPES or p.name == "index.html"}


ASSETS = _assets()


@router.get("")
def field_root() -> Response:
    """The page lives at /staff/field/ (the service worker's scope)."""
    return RedirectResponse("/staff/field/", status_code=308)


@router.get("/")
def field_page() -> Response:
    """The page: tasks, the visit form, what is still waiting to be sent."""
    return Response(ASSETS["index.html"], media_type="text/html; charset=utf-8", headers={**HEADERS, **_REVALIDATE})


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker (an ES module), scoped to /staff/field/."""
    headers = {**HEADERS, **_REVALIDATE, "Service-Worker-Allowed": "/staff/field/"}
    return Response(ASSETS["sw.js"], media_type=_TYPES[".js"], headers=headers)


@router.get("/{name}")
def asset(name: str) -> Response:
    """One of the page's modules or its stylesheet."""
    data = ASSETS.get(name)
    suffix = Path(name).suffix
    if data is None or suffix not in _TYPES:
        raise NotFound()
    return Response(data, media_type=_TYPES[suffix], headers={**HEADERS, **_REVALIDATE})
