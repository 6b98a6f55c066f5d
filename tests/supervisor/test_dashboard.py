"""The supervisor page (the dashboard, moved under the one staff login): figures equal the API's, scoping, charts
whose labels never overlap, exports with the page's session, and the old /dashboard links redirect."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.staff.browser_helpers import LABEL_BOXES, login, overlapping, run_async, screenshot, wait_js
from tests.supervisor.conftest import City

needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"
)


def test_old_dashboard_links_redirect_to_the_supervisor_page(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/login", "/dashboard/pensioners/5"):
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code == 308 and resp.headers["location"] == "/staff/supervisor/", path
    assert client.post("/dashboard/login", data={"username": "x", "password": "y"}).status_code == 405


def test_district_supervisor_cannot_see_other_district(client, session, city: City) -> None:
    user = factories.staff(session, role="supervisor", region=factories.HUANCUI)
    session.commit()
    hdr = factories.staff_token(client, user)
    own = client.get("/api/v1/risk/summary", headers=hdr).json()
    assert own["region"] == factories.HUANCUI and "文登" not in str(own)
    for code in (factories.WENDENG, factories.CITY):
        assert client.get("/api/v1/risk/summary", params={"region": code}, headers=hdr).status_code == 404
        assert client.get("/api/v1/risk/failures", params={"region": code}, headers=hdr).status_code == 404
    assert client.get(f"/api/v1/pensioners/{city.wendeng_pending}/card", headers=hdr).status_code == 404


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port."""
    with serve(app) as url:
        yield url


KPIS = "Object.fromEntries([...document.querySelectorAll('#kpis [data-k]')].map(e => [e.dataset.k, Number(e.textContent)]))"


@needs_chromium
def test_browser_figures_equal_api_charts_and_export(served: str, client, session, city: City, tmp_path: Path) -> None:
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_browser")
    session.commit()
    hdr = factories.staff_token(client, user)
    api = client.get("/api/v1/risk/summary", headers=hdr).json()
    api_list = [i["id"] for i in client.get("/api/v1/risk/pensioners", headers=hdr).json()["items"]]
    browser = Browser(chromium_path() or "", window=(1280, 800))
    try:
        assert login(browser, served, user.username).endswith("/staff/supervisor/")
        wait_js(browser, "document.body.dataset.loaded === 'true'")
        shown = browser.evaluate(KPIS)
        for key in ("pensioners", "certified", "pending", "at_risk", "projected_suspensions"):
            assert shown[key] == api[key], key
        drills = browser.evaluate("[...document.querySelectorAll('[data-drill]')].map(a => a.dataset.drill)")
        assert drills == [c["region"] for c in api["children"]]
        assert (
            browser.evaluate(
                "[...document.querySelectorAll('#risk-table tr[data-pensioner]')].map(r => Number(r.dataset.pensioner))"
            )
            == api_list
        )
        assert (
            browser.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(31, 78, 121)"
        )
        assert browser.evaluate("document.querySelector('#trend [data-tick=\"today\"]').textContent") == "今天"
        outside = browser.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.startsWith(location.origin))"
        )
        assert outside == []  # nothing fetched from outside the service
        for chart in ("trend", "children-chart", "failure-weeks"):
            boxes = browser.evaluate(f"{LABEL_BOXES}('{chart}')")
            assert boxes["boxes"], chart
            assert overlapping(boxes) == [], chart
        # Raw codes never show: the at-risk reasons and failure reasons are labelled.
        text = browser.evaluate("document.querySelector('main').innerText")
        assert not re.search(r"\b(age_80|liveness_failed|no_match|reminder_\w+|too_dark)\b", text), text
        screenshot(browser, "staff_supervisor.png", tmp_path)
        _export(browser, tmp_path)
        browser.evaluate("document.getElementById('lang').click()")  # English on request, labels too
        assert browser.evaluate("document.querySelector('h1 [data-zh]').textContent") == "Supervisor"
        assert browser.evaluate("document.querySelector('#trend [data-tick=\"today\"]').textContent") == "Today"
        assert overlapping(browser.evaluate(f"{LABEL_BOXES}('trend')")) == []
        screenshot(browser, "staff_supervisor_en.png", tmp_path)
        browser.evaluate("document.getElementById('lang').click()")
        browser.evaluate(f"document.querySelector('[data-drill=\"{factories.HUANCUI}\"]').click()")
        browser.wait_for(lambda href: f"region={factories.HUANCUI}" in href)
        wait_js(browser, "document.body.dataset.loaded === 'true'")
        district = client.get("/api/v1/risk/summary", params={"region": factories.HUANCUI}, headers=hdr).json()
        shown = browser.evaluate(KPIS)
        for key in ("pensioners", "certified", "pending", "at_risk"):
            assert shown[key] == district[key], key
        assert browser.evaluate("document.getElementById('region-name').dataset.region") == factories.HUANCUI
    finally:
        browser.close()


def _export(browser: Browser, tmp_path: Path) -> None:
    """The CSV and Excel buttons download with the page's bearer session (the cookie-less 401 is gone)."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    browser.evaluate("document.getElementById('export-csv').click()")
    got = wait_js(
        browser, "window.lastDownload && window.lastDownload.filename.endsWith('.csv') && window.lastDownload"
    )
    assert got["size"] > 0 and got["type"].startswith("text/csv")
    assert "national_id" in got["head"] or "身份证" in got["head"], got["head"]
    browser.evaluate("document.getElementById('export-xlsx').click()")
    got = wait_js(
        browser, "window.lastDownload && window.lastDownload.filename.endsWith('.xlsx') && window.lastDownload"
    )
    assert got["head"].startswith("PK")  # a zip: the xlsx container
    wait_js(browser, "document.getElementById('export-note').textContent !== ''")
    assert run_async(browser, "Promise.resolve(document.getElementById('export-note').textContent)") == "已下载"
    # Chromium saved both files (the download event of the <a download> click).
    wait_js(browser, "true")
    for _ in range(100):
        names = sorted(p.name for p in downloads.iterdir())
        if any(n.endswith(".csv") for n in names) and any(n.endswith(".xlsx") for n in names):
            break
        time.sleep(0.1)
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "xlsx"], names
