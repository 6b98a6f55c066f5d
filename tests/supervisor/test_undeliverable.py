"""Supervisors see how many of this season's reminders and notices were reported undelivered, by region."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from models import Notification
from tests import factories
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.supervisor.conftest import City
from tests.supervisor.test_dashboard import CELL, CHILD, KPI, _login

SENT = datetime(2026, 6, 16, 2, tzinfo=UTC)


def _failed(session, pid: int, kind: str, *, season: int | None = 2026, status: str = "failed") -> None:  # type: ignore[no-untyped-def]
    session.add(
        Notification(
            pensioner_id=pid,
            phone="13800000001",
            kind=kind,
            season_year=season,
            recipient="self",
            body_zh="x",
            body_en="x",
            status="sent",
            sent_at=SENT,
            delivery_status=status,
        )
    )


def _arrange(session, city: City) -> None:  # type: ignore[no-untyped-def]
    _failed(session, city.plain, "reminder_d14")
    _failed(session, city.bedridden, "notice_suspension")
    _failed(session, city.wendeng_pending, "reminder_d7")
    _failed(session, city.other_town, "reminder_d7", season=2025)  # last season: not counted
    _failed(session, city.other_town, "otp", season=None)  # a login code: not a reminder or notice
    _failed(session, city.other_town, "reminder_d3", status="delivered")
    session.commit()


def test_summary_counts_undeliverable_by_region_and_the_dashboard_shows_it(client, session, city: City) -> None:
    _arrange(session, city)
    headers = _login(client, session, factories.CITY)
    body = client.get("/api/v1/risk/summary", params={"season": 2026}, headers=headers).json()
    children = {c["region"]: c["undeliverable"] for c in body["children"]}
    assert body["undeliverable"] == 3
    assert children[factories.HUANCUI] == 2 and children[factories.WENDENG] == 1
    town = client.get("/api/v1/risk/summary", params={"region": "371002001000"}, headers=headers).json()
    assert town["undeliverable"] == 2  # both Huancui people live in its first town
    page = client.get("/dashboard").text
    assert dict(KPI.findall(page))["undeliverable"] == "3" and "短信未送达" in page
    cells = {code: dict(CELL.findall(row)) for code, row in CHILD.findall(page)}
    assert cells[factories.HUANCUI]["undeliverable"] == "2" and cells[factories.WENDENG]["undeliverable"] == "1"


def test_dashboard_screenshot_with_the_undeliverable_figure(client, session, city: City, app, tmp_path: Path) -> None:
    if not chromium_path():
        import pytest

        pytest.skip("Chromium is not installed")
    _arrange(session, city)
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_undeliv")
    session.commit()
    with serve(app) as base:
        browser = Browser(chromium_path() or "", window=(1280, 900))
        try:
            browser.goto(f"{base}/dashboard/login")
            browser.evaluate(
                f"document.getElementById('username').value = '{user.username}';"
                f"document.getElementById('password').value = '{factories.PASSWORD}';"
                "document.getElementById('login-submit').click();"
            )
            browser.wait_for(lambda href: href.endswith("/dashboard"))
            shown = browser.evaluate("document.querySelector('#kpis [data-k=\"undeliverable\"]').textContent")
            assert shown == "3"
            shot = Path(os.environ.get("PENSION_CERT_SCREENSHOT_DIR", tmp_path)) / "dashboard_undeliverable.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            browser.screenshot(str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()
