"""The staff web app: one login at /staff/, the counter and supervisor pages, their static files; /dashboard moved here."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import NotFound

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static" / "staff"
# Scripts and styles from the service only; camera frames are drawn to canvases and sent as blobs.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything served is read once at start-up: a fixed list, so no path from a request reaches the file system.
FILES = {p.name: (p.read_bytes(), _TYPES[p.suffix]) for p in sorted(STATIC.iterdir()) if p.suffix in _TYPES}
PAGES = {"login": "index.html", "counter": "counter.html", "supervisor": "supervisor.html"}


def _answer(body: bytes, media_type: str, *, cache: bool) -> Response:
    """An answer with the staff pages' security headers (pages are never cached: they show personal data)."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=(self)",
        "Cache-Control": "max-age=300" if cache else "no-store",
    }
    return Response(body, media_type=media_type, headers=headers)


def _page(name: str) -> Response:
    body, media_type = FILES[PAGES[name]]
    return _answer(body, media_type, cache=False)


@router.get("/staff")
def staff_root(request: Request) -> Response:
    """The login lives at /staff/ (relative links need the slash)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/staff/{query}", status_code=307)


@router.get("/staff/")
def login_page() -> Response:
    """One login for every staff role; each lands on its own page (or ?next=PATH)."""
    return _page("login")


@router.get("/staff/counter/")
def counter_page() -> Response:
    """The counter: search, pensioner card, webcam enrolment, verification, counter certification, receipt."""
    return _page("counter")


@router.get("/staff/supervisor/")
def supervisor_page() -> Response:
    """Supervisors: summary charts, why people fail, review queue, reassigning, exports."""
    return _page("supervisor")


@router.get("/staff/static/{name}")
def static_file(name: str) -> Response:
    """A script, stylesheet or image of the staff pages."""
    if name in PAGES.values() or name not in FILES:
        raise NotFound()
    body, media_type = FILES[name]
    return _answer(body, media_type, cache=True)


@router.get("/dashboard")
def dashboard() -> Response:
    """The old dashboard moved to the supervisor page (one login, one implementation)."""
    return RedirectResponse("/staff/supervisor/", status_code=308)


@router.get("/dashboard/{rest:path}")
def dashboard_path(rest: str) -> Response:
    """Old dashboard links land on the supervisor page."""
    return RedirectResponse("/staff/supervisor/", status_code=308)
