"""Supervisors see, on the dashboard, how many app certifications left out actions for accessibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories
from tests.browser.cdp import chromium_path
from tests.staff.browser_helpers import screenshot
from tests.supervisor.conftest import City, app_certification, dashboard


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_supervisor_page_shows_certifications_with_exempted_actions(
    client, session, city: City, app, tmp_path: Path
) -> None:
    app_certification(session, ["open_mouth", "turn_left", "turn_right"])
    app_certification(session, ["turn_left"])
    app_certification(session, [])
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_exempt")
    session.commit()
    with dashboard(app, user.username) as browser:
        shown = browser.evaluate("document.querySelector('#kpis [data-k=\"certified_with_exemption\"]').textContent")
        assert shown == "2"
        assert "免部分动作认证" in browser.evaluate("document.getElementById('kpis').innerText")
        screenshot(browser, "staff_supervisor_exemptions.png", tmp_path)
