"""The staff pages are files served by the service under a strict CSP, with no inline code (replaces the
dashboard's header test: one implementation, one login)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

PAGES = ("/staff/", "/staff/counter/", "/staff/supervisor/")


def _assert_headers(resp: Response) -> None:
    csp = resp.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["default-src"] == ["'none'"] and directives["script-src"] == ["'self'"], csp
    assert directives["style-src"] == ["'self'"] and directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert resp.headers["x-frame-options"] == "DENY" and resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_pages_carry_the_headers_and_no_inline_code(client: TestClient) -> None:
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), path
        _assert_headers(resp)
        assert resp.headers["cache-control"] == "no-store"
        html = resp.text
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None and "<style" not in html, path
        assert re.search(r"\sstyle=", html) is None and re.search(r"\son[a-z]+=", html) is None, path
        assert "http://" not in html and "https://" not in html  # nothing from outside
        for ref in re.findall(r'(?:src|href)="(/staff/static/[^"]+)"', html):
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            _assert_headers(asset)


def test_static_files_are_a_fixed_list(client: TestClient) -> None:
    js = client.get("/staff/static/session.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for bad in ("/staff/static/../routers/staff_app.py", "/staff/static/nope.js", "/staff/static/index.html"):
        assert client.get(bad).status_code == 404, bad


def test_the_login_keeps_next(client: TestClient) -> None:
    resp = client.get("/staff?next=/staff/counter/", follow_redirects=False)
    assert resp.status_code == 307 and resp.headers["location"] == "/staff/?next=/staff/counter/"
