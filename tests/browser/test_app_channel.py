"""The pensioner chooses how messages reach them in the app (/app/#/channel), in a real headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from certification import seasons as season_service
from models import AuditEvent, Pensioner
from tests import factories as f
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.browser.test_pensioner_app import _AUDIT, WINDOW, Page

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture
def page(app, session) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """The app served on a free port, Chromium at 360x640 (no camera needed here)."""
    with serve(app) as base:
        browser = Browser(CHROMIUM or "", window=WINDOW)
        try:
            browser.goto(f"{base}/app/")
            yield Page(browser, base, session)
        finally:
            browser.close()


def _person(session, settings, **extra):  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    p = f.pensioner(session, **extra)
    season_service.create_season(session=session, settings=settings, year=2026)
    session.commit()
    return p


def test_the_pensioner_chooses_wechat_then_english(page: Page, session, settings) -> None:  # type: ignore[no-untyped-def]
    settings.wechat_gateway = "log"  # this deployment offers WeChat beside SMS (no app push)
    p = _person(session, settings)
    page.login(p.national_id, p.id)
    page.on("status")
    page.click("to-channel")
    page.on("channel")
    page.until("!!document.getElementById('ch-wechat')")
    assert page.js("[...document.querySelectorAll('button.choice')].map(b => b.dataset.channel)") == ["sms", "wechat"]
    assert page.js("document.getElementById('ch-sms').getAttribute('aria-pressed')") == "true"
    assert "验证码总是发手机短信" in page.text() and "（当前）" in page.text()
    assert page.js(_AUDIT) == []
    page.shot("channel")
    page.click("ch-wechat")
    page.until("!!document.getElementById('channel-saved')")
    assert page.js("document.getElementById('ch-wechat').getAttribute('aria-pressed')") == "true"
    assert "微信消息" in page.js("document.getElementById('channel-saved').innerText")
    assert page.js(_AUDIT) == []
    page.shot("channel_saved")
    session.expire_all()
    assert session.get(Pensioner, p.id).preferred_channel == "wechat"  # type: ignore[union-attr]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "pensioner.preferred_channel_changed"))
    assert event is not None and event.actor_type == "pensioner" and event.detail == {"from": "sms", "to": "wechat"}
    session.commit()
    page.click("lang")
    page.until("document.getElementById('ch-wechat')?.textContent.includes('(current)')")
    assert "WeChat message (current)" in page.text() and "Login codes always come by text message" in page.text()
    assert page.js(_AUDIT) == []
    page.shot("channel_en")


def test_only_sms_offered_nothing_to_choose(page: Page, session, settings) -> None:  # type: ignore[no-untyped-def]
    p = _person(session, settings, preferred_channel="push")  # set by the roster; push is not switched on here
    page.login(p.national_id, p.id)
    page.on("status")
    page.click("to-channel")
    page.on("channel")
    page.until("!!document.getElementById('channel-only-sms')")
    assert page.js("document.querySelectorAll('button.choice').length") == 0
    assert "暂未开通" in page.text() and "只用手机短信" in page.text()
    assert page.js(_AUDIT) == []
