"""The counter page shows how messages reach the pensioner and changes it at their request (headless Chromium)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEvent, Pensioner
from tests import factories as f
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.staff.browser_helpers import login, screenshot, wait_js
from tests.supervisor.conftest import City

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"
)


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port."""
    with serve(app) as url:
        yield url


# Chromium's own test pattern as the webcam: this page needs no face (and no real face goes into the screenshot).
CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def test_a_clerk_of_another_district_changes_the_channel_at_the_pensioners_request(
    served: str, session, settings, city: City, tmp_path: Path
) -> None:
    settings.push_gateway = settings.wechat_gateway = "log"
    clerk = f.staff(session, role="counter", region=f.WENDENG, username="clerk_channel")
    person = f.pensioner(session, name="孙渠道", phone="13711113333")  # lives in 环翠: any office serves them
    session.commit()
    browser = Browser(chromium_path() or "", extra_flags=CAMERA, window=(1280, 800))
    try:
        assert login(browser, served, clerk.username).endswith("/staff/counter/")
        # The clerk's search lists their own district; a card of anyone in the city opens by its link.
        browser.goto(f"{served}/staff/counter/?pensioner={person.id}")
        wait_js(browser, f"document.getElementById('card-id').textContent === '{person.national_id}'")
        assert browser.evaluate("document.getElementById('channel-now').textContent") == "手机短信"
        options = browser.evaluate("[...document.getElementById('channel-select').options].map(o => o.value)")
        assert options == ["sms", "push", "wechat"]
        browser.evaluate(
            "document.getElementById('channel-select').value = 'wechat';"
            "document.getElementById('channel-save').click();"
        )
        wait_js(browser, "document.getElementById('card-channel').dataset.channel === 'wechat'")
        wait_js(browser, "document.getElementById('channel-note').textContent.includes('已记录')")
        assert browser.evaluate("document.getElementById('channel-now').textContent") == "微信消息"
        assert browser.evaluate("document.getElementById('channel-select').value") == "wechat"
        wait_js(browser, "document.getElementById('video').videoWidth > 0", timeout=30)
        time.sleep(1)  # a few frames in, for the picture
        screenshot(browser, "staff_counter_channel.png", tmp_path)
        browser.evaluate("document.getElementById('lang').click()")
        wait_js(browser, "document.getElementById('channel-save').textContent === 'Change at their request'")
        assert browser.evaluate("document.getElementById('channel-now').textContent") == "WeChat"
        settings.wechat_gateway = "off"  # switched off meanwhile: the page shows what happens, the server refuses
        browser.evaluate(f"location.search = '?pensioner={person.id}'")
        wait_js(browser, "document.getElementById('channel-now')?.textContent.includes('not offered here')")
        browser.evaluate(
            "document.getElementById('channel-select').value = 'push'; document.getElementById('channel-save').click();"
        )
        wait_js(browser, "document.getElementById('card-channel').dataset.channel === 'push'")
    finally:
        browser.close()
    session.expire_all()
    assert session.get(Pensioner, person.id).preferred_channel == "push"  # type: ignore[union-attr]
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "pensioner.preferred_channel_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_type, e.actor_id, e.detail) for e in events] == [
        ("staff", str(clerk.id), {"from": "sms", "to": "wechat"}),
        ("staff", str(clerk.id), {"from": "wechat", "to": "push"}),
    ]
    session.commit()
