"""Supervisors see, on the dashboard, how many app certifications left out actions for accessibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Certification, LivenessChallenge, VerificationAttempt
from tests import factories
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.staff.browser_helpers import login, screenshot, wait_js
from tests.supervisor.conftest import TODAY, City


def _app_certification(session, exempted: list[str]) -> None:  # type: ignore[no-untyped-def]
    pid = factories.pensioner(session).id
    challenge = LivenessChallenge(
        id=f"c-{pid}", pensioner_id=pid, actions=["blink"], exempted=exempted, expires_at=TODAY
    )
    attempt = VerificationAttempt(
        pensioner_id=pid, at=TODAY, channel="app", season_year=2026, decision="match", challenge_id=challenge.id
    )
    session.add_all([challenge, attempt])
    session.flush()
    session.add(Certification(pensioner_id=pid, season_year=2026, channel="app", attempt_id=attempt.id))


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_supervisor_page_shows_certifications_with_exempted_actions(
    client, session, city: City, app, tmp_path: Path
) -> None:
    _app_certification(session, ["open_mouth", "turn_left", "turn_right"])
    _app_certification(session, ["turn_left"])
    _app_certification(session, [])
    user = factories.staff(session, role="supervisor", region=factories.CITY, username="sup_exempt")
    session.commit()
    with serve(app) as base:
        browser = Browser(chromium_path() or "", window=(1280, 900))
        try:
            assert login(browser, base, user.username).endswith("/staff/supervisor/")
            wait_js(browser, "document.body.dataset.loaded === 'true'")
            shown = browser.evaluate(
                "document.querySelector('#kpis [data-k=\"certified_with_exemption\"]').textContent"
            )
            assert shown == "2"
            assert "免部分动作认证" in browser.evaluate("document.getElementById('kpis').innerText")
            screenshot(browser, "staff_supervisor_exemptions.png", tmp_path)
        finally:
            browser.close()
