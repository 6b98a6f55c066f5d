"""The dashboard page: login by cookie, figures equal the API's, district scoping, and a real browser."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routers.dashboard import COOKIE
from tests import factories
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.supervisor.conftest import City

KPI = re.compile(r'<b data-k="(\w+)"[^>]*>(-?\d+)</b>')
CHILD = re.compile(r'<tr data-child="(\d{12})">(.*?)</tr>', re.S)
CELL = re.compile(r'data-k="(\w+)">(-?\d+)<')


def _login(client: TestClient, session, region: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user = factories.staff(session, role="supervisor", region=region)
    session.commit()
    resp = client.post(
        "/dashboard/login", data={"username": user.username, "password": factories.PASSWORD}, follow_redirects=False
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard"
    assert "httponly" in resp.headers["set-cookie"].lower()
    return factories.staff_token(client, user)


def test_page_figures_equal_api(client, session, city: City) -> None:
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/dashboard/login"
    headers = _login(client, session, factories.CITY)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "高风险名单" in page.text
    api = client.get("/api/v1/risk/summary", headers=headers).json()
    kpis = {k: int(v) for k, v in KPI.findall(page.text)}
    for key in ("pensioners", "certified", "pending", "at_risk", "projected_suspensions"):
        assert kpis[key] == api[key], key
    children = {code: dict(CELL.findall(row)) for code, row in CHILD.findall(page.text)}
    assert set(children) == {c["region"] for c in api["children"]}
    for child in api["children"]:
        for key in ("pensioners", "certified", "pending", "at_risk"):
            assert int(children[child["region"]][key]) == child[key]
    listed = re.findall(r'<tr data-pensioner="(\d+)">', page.text)
    api_list = client.get("/api/v1/risk/pensioners", headers=headers).json()["items"]
    assert [int(i) for i in listed] == [i["id"] for i in api_list]
    assert '<svg id="funnel"' in page.text and '<svg id="trend"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from outside
    history = client.get(f"/dashboard/pensioners/{city.old_failed}")
    assert history.status_code == 200 and "张高龄" in history.text and "未通过" in history.text


def test_district_supervisor_cannot_see_other_district(client, session, city: City) -> None:
    _login(client, session, factories.HUANCUI)
    own = client.get("/dashboard")
    assert own.status_code == 200 and 'data-region="371002000000"' in own.text
    assert "文登" not in own.text
    other = client.get("/dashboard", params={"region": factories.WENDENG})
    assert other.status_code == 404 and "文登" not in other.text
    assert client.get("/dashboard", params={"region": factories.CITY}).status_code == 404
    assert client.get(f"/dashboard/pensioners/{city.wendeng_pending}").status_code == 404


def test_counter_staff_get_no_dashboard(client, session, city: City) -> None:
    user = factories.staff(session, role="counter")
    session.commit()
    client.post("/dashboard/login", data={"username": user.username, "password": factories.PASSWORD})
    assert client.get("/dashboard").status_code == 403


def test_wrong_password_shows_error(client, session, city: City) -> None:
    user = factories.staff(session, role="supervisor")
    session.commit()
    resp = client.post("/dashboard/login", data={"username": user.username, "password": "nope"})
    assert (
        resp.status_code == 401 and 'id="login-error"' in resp.text and COOKIE not in resp.headers.get("set-cookie", "")
    )


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port."""
    with serve(app) as url:
        yield url


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_browser_login_and_drill_down(served: str, client, session, city: City, tmp_path: Path) -> None:
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_browser")
    session.commit()
    api = client.get(
        "/api/v1/risk/summary", params={"region": factories.HUANCUI}, headers=factories.staff_token(client, user)
    )
    browser = Browser(chromium_path() or "")
    try:
        browser.goto(f"{served}/dashboard")
        assert browser.wait_for(lambda href: href.endswith("/dashboard/login"))
        browser.evaluate(
            f"document.getElementById('username').value = '{user.username}';"
            f"document.getElementById('password').value = '{factories.PASSWORD}';"
            "document.getElementById('login-submit').click();"
        )
        browser.wait_for(lambda href: href.endswith("/dashboard"))
        assert browser.evaluate("document.cookie") == ""  # HttpOnly: not readable by scripts
        # The stylesheet loads under the strict CSP (style-src 'self'): the header has its colour.
        assert browser.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == (
            "rgb(31, 78, 121)"
        )
        assert browser.evaluate("getComputedStyle(document.querySelector('.legend-line')).color") == "rgb(46, 139, 87)"
        assert browser.evaluate("document.getElementById('region-name').dataset.region") == factories.CITY
        browser.evaluate(f"document.querySelector('[data-drill=\"{factories.HUANCUI}\"]').click()")
        browser.wait_for(lambda href: f"region={factories.HUANCUI}" in href)
        shown = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#kpis [data-k]')]"
            ".map(e => [e.dataset.k, Number(e.textContent)]))"
        )
        for key in ("pensioners", "certified", "pending", "at_risk"):
            assert shown[key] == api.json()[key], key
        assert browser.evaluate("document.querySelectorAll('#children tr[data-child]').length") == len(
            api.json()["children"]
        )
        assert browser.evaluate("document.querySelector('#funnel rect').getBBox().width") > 0
        shot = Path(os.environ.get("PENSION_CERT_SCREENSHOT_DIR", tmp_path)) / "dashboard_district.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        browser.screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    finally:
        browser.close()
