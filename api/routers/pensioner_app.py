"""The pensioner web app (H5) at /app/: static ES modules and styles served by the service under a strict CSP."""

from __future__ import annotations

import gzip
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import NotFound

router = APIRouter(include_in_schema=False)
ROOT = Path(__file__).resolve().parent.parent / "static" / "app"
# Only the service itself; the camera preview plays a MediaStream (no URL) and the receipt PDF is a blob: link.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json")


def _load() -> dict[str, tuple[bytes, bytes | None, str]]:
    """Every file of the app, read once: raw bytes, gzip bytes for text files, media type."""
    files: dict[str, tuple[bytes, bytes | None, str]] = {}
    for path in sorted(ROOT.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(ROOT).as_posix()
        raw = path.read_bytes()
        media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".html":
            media = "text/html; charset=utf-8"
        packed = gzip.compress(raw, compresslevel=9, mtime=0) if path.suffix in _COMPRESSIBLE else None
        files[name] = (raw, packed, media)
    return files


FILES = _load()


def headers(*, cache: str) -> dict[str, str]:
    """The security headers of every /app/ answer."""
    return {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
        "Cache-Control": cache,
        "Vary": "Accept-Encoding",
    }


def _file(request: Request, name: str) -> Response:
    found = FILES.get(name)
    if found is None:
        raise NotFound()
    raw, packed, media = found
    # index.html is checked every time (it names the modules); the rest may be kept a little while.
    out = headers(cache="no-cache" if name == "index.html" else "public, max-age=600")
    if packed is not None and "gzip" in request.headers.get("accept-encoding", ""):
        out["Content-Encoding"] = "gzip"
        return Response(packed, media_type=media, headers=out)
    return Response(raw, media_type=media, headers=out)


@router.get("/app")
def app_root() -> RedirectResponse:
    """The app lives at /app/ (relative module paths)."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/")
def app_index(request: Request) -> Response:
    """The single page; its screens are drawn by /app/main.js."""
    return _file(request, "index.html")


@router.get("/app/{name:path}")
def app_file(request: Request, name: str) -> Response:
    """A module, the stylesheet or a picture of the app."""
    return _file(request, name)
