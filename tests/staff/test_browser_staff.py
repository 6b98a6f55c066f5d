"""The staff pages in headless Chromium: one login landing each role, no 403 loops, a kept-alive session,
a supervisor rejecting a review (its effects undone) and reassigning the reopened task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from models import HomeVisitTask, Pensioner
from tests import factories as f
from tests.browser.cdp import Browser, chromium_path
from tests.browser.server import serve
from tests.certification_integrity.helpers import IN_CITY, PDF, post_visit, token, with_task, world
from tests.staff.browser_helpers import login, run_async, screenshot, wait_js

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"
)
STORED = "JSON.parse(sessionStorage.getItem('pension_cert.staff'))"


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port."""
    with serve(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    """One headless Chromium at 1280x800."""
    b = Browser(chromium_path() or "", window=(1280, 800))
    try:
        yield b
    finally:
        b.close()


def _logout(browser: Browser) -> None:
    browser.evaluate("sessionStorage.clear()")


def test_login_lands_each_role_on_its_page_and_wrong_pages_redirect(served: str, session, browser: Browser) -> None:
    f.seed_regions(session)
    users = {
        role: f.staff(session, role=role, region=f.HUANCUI) for role in ("counter", "supervisor", "admin", "field")
    }
    session.commit()
    browser.call("Page.navigate", session=True, url=f"{served}/staff/supervisor/")
    landed = browser.wait_for(lambda href: "/staff/?next=" in href)
    assert unquote(landed).endswith("/staff/?next=/staff/supervisor/")  # no session: to the login, and back after
    expected = {
        "counter": "/staff/counter/",
        "supervisor": "/staff/supervisor/",
        "admin": "/staff/supervisor/",
        "field": "/staff/field/",
    }
    for role, user in users.items():
        _logout(browser)
        assert login(browser, served, user.username).endswith(expected[role]), role
        stored = browser.evaluate(STORED)
        assert set(stored) == {"access_token", "refresh_token", "expires_at", "role", "username", "region"}
        assert (stored["role"], stored["username"], stored["region"]) == (role, user.username, f.HUANCUI)
        assert stored["expires_at"] > browser.evaluate("Date.now()")
    # A clerk sent to the supervisor page lands on the counter page (never a 403 page linking to itself).
    _logout(browser)
    login(browser, served, users["counter"].username)
    browser.call("Page.navigate", session=True, url=f"{served}/staff/supervisor/")
    assert browser.wait_for(lambda href: href.endswith("/staff/counter/"))
    _logout(browser)
    login(browser, served, users["field"].username, next_path="/staff/counter/")
    assert browser.wait_for(lambda href: href.endswith("/staff/field/"))  # the counter page sends it on
    _logout(browser)
    assert login(browser, served, users["supervisor"].username, next_path="/staff/counter/").endswith("/staff/counter/")
    # Wrong password: the message, no session.
    _logout(browser)
    browser.goto(f"{served}/staff/")
    wait_js(browser, "document.getElementById('login-form') !== null")
    browser.evaluate(
        f"document.getElementById('username').value = '{users['counter'].username}';"
        "document.getElementById('password').value = 'wrong-password';"
        "document.getElementById('login-submit').click();"
    )
    assert wait_js(
        browser, "!document.getElementById('login-error').hidden && document.getElementById('login-error').textContent"
    )
    assert browser.evaluate("sessionStorage.getItem('pension_cert.staff')") is None


def test_a_session_in_use_is_refreshed_before_its_token_expires(served: str, session, browser: Browser) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="supervisor", region=f.HUANCUI)
    session.commit()
    login(browser, served, user.username)
    before = browser.evaluate(STORED)
    # 30 s left on the access token: the next request the page makes rotates the tokens first.
    browser.evaluate(
        f"sessionStorage.setItem('pension_cert.staff', JSON.stringify({{...{STORED}, expires_at: Date.now() + 30000}}))"
    )
    status = run_async(
        browser, "import('/staff/static/session.js').then(m => m.json('/api/v1/staff/me')).then(r => r.status)"
    )
    after = browser.evaluate(STORED)
    assert status == 200
    assert after["refresh_token"] != before["refresh_token"] and after["access_token"] != before["access_token"]
    assert after["expires_at"] - browser.evaluate("Date.now()") > 10 * 60 * 1000


def test_supervisor_rejects_a_review_and_reassigns_the_reopened_task(
    served: str, client, session, settings, clock, browser: Browser, tmp_path: Path
) -> None:
    w = with_task(session, settings, world(session, settings, clock), clock.now)
    death = {"outcome": "deceased", "death_date": "2026-06-02", **IN_CITY}
    resp = post_visit(
        client,
        w.task_id,
        token(client, session, w.worker),
        "dead-1",
        death,
        {"death_certificate": ("certificate.pdf", PDF, "application/pdf")},
    )
    assert resp.status_code == 201, resp.text
    visit = resp.json()
    assert visit["needs_review"] is True
    session.expire_all()
    assert session.get(Pensioner, w.pensioner.id).pension_status == "on_hold"  # type: ignore[union-attr]
    session.commit()
    login(browser, served, w.supervisor.username)
    wait_js(browser, "document.body.dataset.loaded === 'true'")
    row = f"#review-table tr[data-visit='{visit['id']}']"
    row_text = browser.evaluate(f'document.querySelector("{row}").innerText')
    assert row_text.count("已去世") == 1 and "报告死亡，待核实" in row_text
    assert "deceased" not in row_text and "其他" not in row_text  # every code has its Chinese label
    screenshot(browser, "staff_supervisor_review.png", tmp_path)
    browser.evaluate(
        f"document.querySelector(\"{row} input.note\").value = '本人健在，家属误报';"
        f'document.querySelector("{row} button[data-decision=rejected]").click();'
    )
    wait_js(browser, f'document.querySelector("{row}") === null')
    session.commit()
    status = session.scalar(select(Pensioner.pension_status).where(Pensioner.id == w.pensioner.id))
    task_status = session.scalar(select(HomeVisitTask.status).where(HomeVisitTask.id == w.task_id))
    session.commit()
    assert (status, task_status) == ("active", "open")  # the hold is undone, the task reopened
    # The reopened task shows in the task list; the picker lists field workers of the jurisdiction.
    task_row = f"#task-table tr[data-task='{w.task_id}']"
    wait_js(browser, f'document.querySelector("{task_row} select.picker") !== null')
    options = browser.evaluate(f'[...document.querySelectorAll("{task_row} select.picker option")].map(o => o.value)')
    assert str(w.colleague.id) in options and str(w.worker.id) not in options
    browser.evaluate(
        f"const s = document.querySelector(\"{task_row} select.picker\"); s.value = '{w.colleague.id}';"
        "s.dispatchEvent(new Event('change'));"
    )
    for _ in range(100):
        session.expire_all()
        assigned = session.scalar(select(HomeVisitTask.assigned_staff_id).where(HomeVisitTask.id == w.task_id))
        session.commit()
        if assigned == w.colleague.id:
            break
        wait_js(browser, "true")
    assert assigned == w.colleague.id


def test_counter_page_says_why_when_the_camera_cannot_be_opened(served: str, session, browser: Browser) -> None:
    f.seed_regions(session)
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    p = f.pensioner(session, name="赵无镜")
    session.commit()
    login(browser, served, clerk.username, next_path=f"/staff/counter/?pensioner={p.id}")
    wait_js(browser, "document.getElementById('card-name').textContent.startsWith('赵无镜')")
    # No camera granted to this browser: the page tells the clerk why instead of failing silently.
    message = wait_js(
        browser,
        "!document.getElementById('camera-error').hidden && document.getElementById('camera-error').textContent",
    )
    assert "无法打开摄像头" in message
