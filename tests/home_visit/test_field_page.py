"""The field page in a real headless Chromium (360×640): offline visits sent once, denied GPS and camera kept."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from certification import seasons
from models import HomeVisit, HomeVisitTask, IdempotencyRecord, Pensioner, Region
from tests import factories as f
from tests.browser.camera import frames_to_y4m, video_to_y4m
from tests.browser.cdp import Browser, chromium_path, fake_camera_flags
from tests.browser.screens import screens_dir
from tests.browser.server import serve
from tests.conftest import faces_dir
from tests.home_visit.helpers import count

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"
)
SCREENS = screens_dir()
PHONE = (360, 640)
ZH = ["--lang=zh-CN"]  # a Chinese phone: the date pickers in Chinese too


def _camera_file(tmp_path: Path) -> Path:
    """A real recording when the shared faces are here, else a drawn 'signed form' (white page, black lines)."""
    shared = faces_dir()
    video = shared / "video" / "actions" / "east_asian_woman_blinks.mp4" if shared else None
    if video is not None and video.is_file():
        return video_to_y4m(video, tmp_path / "camera.y4m", max_seconds=4)
    page = np.full((480, 640, 3), 245, np.uint8)
    for y in range(60, 440, 40):
        page[y : y + 3, 60:580] = 30
    return frames_to_y4m([page] * 30, tmp_path / "camera.y4m")


def _wait(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _on(browser: Browser, session_id: str, method: str, **params: Any) -> dict[str, Any]:
    """A CDP command on another target's session (the service worker)."""
    own = browser.session
    browser.session = session_id
    try:
        return browser.call(method, session=True, **params)
    finally:
        browser.session = own


def _world(session, clock, *, house: bool = True) -> tuple[Pensioner, HomeVisitTask, Any]:  # type: ignore[no-untyped-def]
    """A field worker with one open task; the app's clock is the browser's (visited_at comes from the device)."""
    clock.now = datetime.now(UTC)
    f.seed_regions(session)
    worker = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY, username=f"field_page_{time.time_ns()}")
    community = session.get(Region, f.HUANCUI_COMMUNITY)
    extra = {"address_street": "东山路", "address_house": "88号3单元201室", "address_landmark": "东山邮局对面"}
    if house:
        extra |= {"address_latitude": community.latitude + 0.004, "address_longitude": community.longitude}
    p = f.pensioner(session, name="王秀英", limited_mobility=True, **extra)
    other = f.pensioner(session, name="李建国", birth=datetime(1938, 2, 1).date(), phone="13800000009")
    today = seasons.local_date(clock.now, "Asia/Shanghai")
    tasks = [
        HomeVisitTask(
            pensioner_id=p.id,
            season_year=today.year,
            reason="limited_mobility",
            status="open",
            due_date=today + timedelta(days=2),
            assigned_staff_id=worker.id,
        ),
        HomeVisitTask(
            pensioner_id=other.id,
            season_year=today.year,
            reason="age_80",
            status="open",
            due_date=today - timedelta(days=1),
            assigned_staff_id=worker.id,
        ),
    ]
    session.add_all(tasks)
    session.commit()
    return p, tasks[0], worker


def _login(browser: Browser, served: str, client, worker, *, expired: bool = False) -> str:  # type: ignore[no-untyped-def]
    """What the staff login at /staff/ leaves behind (not in this branch): the token in sessionStorage."""
    resp = client.post("/api/v1/auth/staff-token", data={"username": worker.username, "password": f.PASSWORD})
    body = resp.json()
    token = {
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
        "expires_at": int(time.time() * 1000) + (-1000 if expired else body["expires_in"] * 1000),
        "role": "field",
        "username": worker.username,
        "region": worker.region_code,
    }
    browser.goto(f"{served}/healthz")
    browser.evaluate(f"sessionStorage.setItem('pension_cert.staff', {json.dumps(json.dumps(token))})")
    return str(body["access_token"])


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(app) as url:
        yield url


def _phone(browser: Browser) -> None:
    """A 360×640 phone screen (CSS pixels), touch and mobile viewport."""
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        session=True,
        width=PHONE[0],
        height=PHONE[1],
        deviceScaleFactor=1,
        mobile=True,
    )
    browser.call("Emulation.setLocaleOverride", session=True, locale="zh-CN")


def _fits(browser: Browser) -> None:
    """Nothing is wider than the phone (no sideways scrolling)."""
    assert browser.evaluate("document.documentElement.scrollWidth") <= PHONE[0]


def _open(browser: Browser, served: str) -> None:
    _phone(browser)
    browser.goto(f"{served}/staff/field/")
    _wait(lambda: browser.evaluate("document.body.dataset.ready === '1'"), "the page to start")
    _wait(lambda: browser.evaluate("document.querySelectorAll('#tasks li').length") == 2, "the tasks")
    _wait(lambda: browser.evaluate("navigator.serviceWorker.controller !== null"), "the service worker")


def _record(browser: Browser, task_id: int, outcome: str, *, shoot_form: bool = False, note: str = "") -> None:
    browser.evaluate(f"document.querySelector('button[data-task=\"{task_id}\"]').click()")
    _wait(lambda: browser.evaluate("!document.getElementById('visit-view').hidden"), "the visit form")
    _wait(
        lambda: browser.evaluate(
            "document.getElementById('gps-status').textContent.length > 0 && "
            "!document.getElementById('gps-status').textContent.startsWith('正在')"
        ),
        "a position",
    )
    if shoot_form:
        _wait(lambda: browser.evaluate("document.getElementById('preview').videoWidth > 0"), "the camera")
        browser.evaluate("document.getElementById('shoot-form').click()")
        _wait(lambda: browser.evaluate("!document.getElementById('form-thumb').hidden"), "the form photo")
    browser.evaluate(
        f"document.querySelector('input[name=outcome][value={outcome}]').click();"
        f"document.getElementById('note').value = {json.dumps(note)};"
    )


def _visits(session) -> list[HomeVisit]:  # type: ignore[no-untyped-def]
    session.rollback()
    rows = list(session.scalars(select(HomeVisit)))
    session.commit()
    return rows


def _offline(browser: Browser, worker_session: str | None, offline: bool) -> None:
    conditions = {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    browser.call("Network.emulateNetworkConditions", session=True, **conditions)
    if worker_session:
        _on(browser, worker_session, "Network.emulateNetworkConditions", **conditions)


def _worker_session(browser: Browser) -> str:
    targets = browser.call("Target.getTargets")["targetInfos"]
    sw = next(t for t in targets if t["type"] == "service_worker" and t["url"].endswith("/staff/field/sw.js"))
    session_id = browser.call("Target.attachToTarget", targetId=sw["targetId"], flatten=True)["sessionId"]
    _on(browser, session_id, "Network.enable")
    return str(session_id)


def test_visit_recorded_offline_is_sent_exactly_once(served, client, session, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p, task, worker = _world(session, clock)
    browser = Browser(
        chromium_path() or "", extra_flags=ZH + fake_camera_flags(str(_camera_file(tmp_path))), window=PHONE
    )
    try:
        # No staff login yet: sent to the staff login (the redirect may come before the first load is seen).
        browser.goto(f"{served}/staff/field/", accept=lambda href: "/staff/?next=/staff/field/" in href)
        _login(browser, served, client, worker)
        browser.call("Browser.grantPermissions", origin=served, permissions=["geolocation", "videoCapture"])
        community = session.get(Region, f.HUANCUI_COMMUNITY)
        session.commit()
        browser.call(
            "Emulation.setGeolocationOverride",
            session=True,
            latitude=community.latitude + 0.004,
            longitude=community.longitude,
            accuracy=15,
        )
        _open(browser, served)
        first = browser.evaluate("document.querySelector('#tasks li').dataset.taskId")
        assert int(first) != task.id  # the overdue one (due yesterday) comes first
        item = f'#tasks li[data-task-id="{task.id}"]'
        links = browser.evaluate(f"[...document.querySelectorAll('{item} a')].map(a => a.getAttribute('href'))")
        assert "tel:13800000001" in links and "tel:13900000002" in links
        geo = next(link for link in links if link.startswith("geo:"))
        assert geo == f"geo:{p.address_latitude},{p.address_longitude}"
        text = browser.evaluate(f"document.querySelector('{item}').textContent")
        assert "东山路88号3单元201室" in text and "东山邮局对面" in text and "行动不便" in text
        assert f"{p.address_latitude:.5f}, {p.address_longitude:.5f}" in text
        browser.call("Network.enable", session=True)
        sw = _worker_session(browser)
        _fits(browser)
        browser.screenshot(str(SCREENS / "field_tasks.png"))

        _offline(browser, sw, True)
        _wait(lambda: browser.evaluate("document.getElementById('net').dataset.state") == "offline", "offline badge")
        _record(browser, task.id, "not_at_home", shoot_form=True, note="邻居说老人去女儿家了")
        _fits(browser)
        browser.screenshot(str(SCREENS / "field_visit.png"))
        browser.evaluate("document.getElementById('save').click()")
        _wait(lambda: browser.evaluate("document.querySelectorAll('#outbox li').length") == 1, "the waiting visit")
        # Tries while offline (the page's timer and messages) send nothing; the visit stays waiting on the device.
        for _ in range(3):
            browser.evaluate("navigator.serviceWorker.controller.postMessage({type: 'flush'})")
        tried = "Number(document.querySelector('#outbox li').dataset.attempts)"
        _wait(lambda: browser.evaluate(f"{tried} >= 1"), "a failed try while offline")
        assert "等待网络" in browser.evaluate("document.getElementById('outbox').textContent")
        assert _visits(session) == []
        # Reloaded in the dead zone: the page comes from the worker's cache, the tasks from the device.
        browser.call("Page.reload", session=True)
        _wait(lambda: browser.evaluate("document.body && document.body.dataset.ready === '1'"), "the page offline")
        status = browser.evaluate("document.getElementById('tasks-status').textContent")
        assert status.startswith("离线：显示上次读取的任务"), status
        assert browser.evaluate("document.querySelectorAll('#tasks li').length") == 2
        _wait(lambda: browser.evaluate("document.querySelectorAll('#outbox li').length") == 1, "still waiting")
        assert _visits(session) == []
        _fits(browser)
        browser.screenshot(str(SCREENS / "field_waiting.png"))

        _offline(browser, sw, False)  # the `online` event: the page asks the worker to send
        visits = _wait(lambda: _visits(session), "the visit on the server")
        _wait(lambda: browser.evaluate("document.querySelectorAll('#outbox li').length") == 0, "the outbox to empty")
        for _ in range(3):  # more tries after it was sent: nothing more is written
            browser.evaluate("navigator.serviceWorker.controller.postMessage({type: 'flush'})")
        _wait(lambda: browser.evaluate("document.getElementById('sent-summary').textContent.includes('1')"), "sent")
        due = _wait(lambda: session.scalar(select(HomeVisitTask.due_date).where(HomeVisitTask.id == task.id)), "due")
        session.commit()
        shown = f"截止 {due.isoformat()}"  # not at home: due again later, and the list shows the new date
        _wait(lambda: shown in browser.evaluate(f"document.querySelector('{item}').textContent"), "the new due date")
        assert len(_visits(session)) == 1 and count(session, IdempotencyRecord) == 1
        visit = visits[0]
        assert visit.task_id == task.id and visit.outcome == "not_at_home" and visit.form_scan_sha256
        assert visit.position_accuracy_m == 15 and visit.needs_review is False  # at the house: not far from it
        assert visit.detail["note"] == "邻居说老人去女儿家了"
        browser.screenshot(str(SCREENS / "field_sent.png"))
    finally:
        browser.close()


def test_gps_and_camera_denied_visit_is_kept_and_goes_to_review(served, client, session, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _p, task, worker = _world(session, clock, house=False)
    flags = [fl for fl in fake_camera_flags(str(_camera_file(tmp_path))) if fl != "--use-fake-ui-for-media-stream"]
    browser = Browser(chromium_path() or "", extra_flags=ZH + flags, window=PHONE)
    try:
        _login(browser, served, client, worker)
        for name in ("geolocation", "camera"):
            browser.call("Browser.setPermission", origin=served, permission={"name": name}, setting="denied")
        _open(browser, served)
        _record(browser, task.id, "certified")
        _wait(
            lambda: "相机权限被拒绝" in browser.evaluate("document.getElementById('camera-status').textContent"), "cam"
        )
        assert "定位权限被拒绝" in browser.evaluate("document.getElementById('gps-status').textContent")
        assert browser.evaluate("document.getElementById('camera-live').hidden") is True
        _fits(browser)
        browser.screenshot(str(SCREENS / "field_denied.png"))
        browser.evaluate("document.getElementById('save').click()")
        visits = _wait(lambda: _visits(session), "the visit on the server")
        visit = visits[0]
        assert visit.position_missing_reason == "denied" and visit.photo_missing_reason == "camera_denied"
        assert visit.latitude is None and visit.needs_review is True
        assert set(visit.review_reasons) == {"gps_missing", "photo_missing", "form_scan_missing"}
        session.rollback()
        closed = session.execute(
            select(HomeVisitTask.status, HomeVisitTask.close_reason).where(HomeVisitTask.id == task.id)
        )
        assert tuple(closed.one()) == ("done", "awaiting_review"), visit.detail  # nothing certified yet
        session.commit()
        # English on request.
        browser.evaluate("document.getElementById('lang').click()")
        assert browser.evaluate("document.querySelector('h1').textContent") == "Home visits"
        browser.screenshot(str(SCREENS / "field_english.png"))
    finally:
        browser.close()


def test_inaccurate_position_is_sent_with_its_accuracy_and_reviewed(served, client, session, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _p, task, worker = _world(session, clock)
    browser = Browser(
        chromium_path() or "", extra_flags=ZH + fake_camera_flags(str(_camera_file(tmp_path))), window=PHONE
    )
    try:
        first = _login(browser, served, client, worker, expired=True)  # the page must refresh it first
        browser.call("Browser.grantPermissions", origin=served, permissions=["geolocation", "videoCapture"])
        community = session.get(Region, f.HUANCUI_COMMUNITY)
        session.commit()
        browser.call(
            "Emulation.setGeolocationOverride",
            session=True,
            latitude=community.latitude,
            longitude=community.longitude,
            accuracy=650,
        )
        _open(browser, served)
        renewed = json.loads(browser.evaluate("sessionStorage.getItem('pension_cert.staff')"))
        assert renewed["access_token"] != first and renewed["expires_at"] > time.time() * 1000
        _record(browser, task.id, "refused")
        assert "超过 200 米" in browser.evaluate("document.getElementById('gps-status').textContent")
        browser.evaluate("document.getElementById('save').click()")
        visit = _wait(lambda: _visits(session), "the visit on the server")[0]
        assert visit.position_accuracy_m == 650 and visit.position_missing_reason == "inaccurate"
        assert visit.needs_review and "gps_inaccurate" in visit.review_reasons
    finally:
        browser.close()
