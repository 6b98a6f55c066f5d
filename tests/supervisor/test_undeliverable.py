"""Supervisors see how many of this season's reminders and notices were reported undelivered, by region."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from models import Notification
from tests import factories
from tests.browser.cdp import chromium_path
from tests.staff.browser_helpers import screenshot
from tests.supervisor.conftest import City, dashboard

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


def test_summary_counts_undeliverable_by_region(client, session, city: City) -> None:
    _arrange(session, city)
    user = factories.staff(session, role="supervisor", region=factories.CITY)
    session.commit()
    headers = factories.staff_token(client, user)
    body = client.get("/api/v1/risk/summary", params={"season": 2026}, headers=headers).json()
    children = {c["region"]: c["undeliverable"] for c in body["children"]}
    assert body["undeliverable"] == 3
    assert children[factories.HUANCUI] == 2 and children[factories.WENDENG] == 1
    town = client.get("/api/v1/risk/summary", params={"region": "371002001000"}, headers=headers).json()
    assert town["undeliverable"] == 2  # both Huancui people live in its first town


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_supervisor_page_shows_the_undeliverable_figure(client, session, city: City, app, tmp_path: Path) -> None:
    _arrange(session, city)
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_undeliv")
    session.commit()
    with dashboard(app, user.username) as browser:
        shown = browser.evaluate("document.querySelector('#kpis [data-k=\"undeliverable\"]').textContent")
        assert shown == "3"
        assert "短信未送达" in browser.evaluate("document.getElementById('kpis').innerText")
        screenshot(browser, "staff_supervisor_undeliverable.png", tmp_path)
