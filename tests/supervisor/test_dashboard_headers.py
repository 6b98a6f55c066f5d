"""The dashboard sends a strict Content-Security-Policy and framing/referrer headers, and needs no inline code (issue 15 item 10)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from tests import factories
from tests.supervisor.conftest import City


def _assert_headers(resp: Response) -> None:
    csp = resp.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives.get("default-src") == ["'none'"], csp
    assert directives.get("style-src") == ["'self'"] and directives.get("img-src") == ["'self'", "data:"]
    assert directives.get("form-action") == ["'self'"] and directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("base-uri") == ["'none'"]
    assert "unsafe-inline" not in csp and "http" not in csp  # no inline code, no CDN
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-content-type-options"] == "nosniff"


def _assert_no_inline_code(html: str) -> None:
    assert "<script" not in html and "<style" not in html
    assert re.search(r"\sstyle=", html) is None  # inline style attributes would be blocked by the CSP
    assert re.search(r"\son[a-z]+=", html) is None


def test_every_dashboard_answer_carries_the_security_headers(client: TestClient, session, city: City) -> None:
    _assert_headers(client.get("/dashboard", follow_redirects=False))  # the redirect to the login
    login = client.get("/dashboard/login")
    _assert_headers(login)
    _assert_no_inline_code(login.text)
    user = factories.staff(session, role="supervisor", region=factories.CITY)
    counter = factories.staff(session, role="counter", region=factories.CITY)
    session.commit()
    wrong = client.post("/dashboard/login", data={"username": user.username, "password": "nope"})
    _assert_headers(wrong)
    done = client.post(
        "/dashboard/login", data={"username": user.username, "password": factories.PASSWORD}, follow_redirects=False
    )
    _assert_headers(done)
    page = client.get("/dashboard")
    assert page.status_code == 200
    _assert_headers(page)
    _assert_no_inline_code(page.text)
    assert page.headers["cache-control"] == "no-store"  # names and national IDs stay out of caches
    history = client.get(f"/dashboard/pensioners/{city.plain}")
    assert history.status_code == 200
    _assert_headers(history)
    _assert_no_inline_code(history.text)
    client.post(
        "/dashboard/login", data={"username": counter.username, "password": factories.PASSWORD}, follow_redirects=False
    )
    refused = client.get("/dashboard")
    assert refused.status_code == 403
    _assert_headers(refused)


def test_the_stylesheet_is_served_from_the_service_itself(client: TestClient) -> None:
    html = client.get("/dashboard/login").text
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert links == ["/dashboard/static/dashboard.css"]
    css = client.get(links[0])
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "header{background:#1f4e79" in css.text.replace(" ", "")
    _assert_headers(css)
