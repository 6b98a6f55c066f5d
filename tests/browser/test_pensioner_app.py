"""The pensioner web app at /app/ in a real headless Chromium with a fake camera fed a real recording."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import func, select

from certification import seasons as season_service
from faces import liveness
from faces import service as face_service
from models import Certification, Notification, Suspension, VerificationAttempt
from tests import factories as f
from tests.browser.camera import frames_to_y4m
from tests.browser.cdp import Browser, chromium_path, fake_camera_flags
from tests.browser.screens import screens_dir
from tests.browser.server import serve
from tests.conftest import faces_dir

FACES = faces_dir()
CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(FACES is None, reason="real face recordings not found (../shared/faces)"),
]
CLIP = "video/blink/blink_detector_video.mp4"  # blinks in its first 3 s (the API tests answer blink, blink with them)
SHOTS = screens_dir()
WINDOW = (360, 640)


def _clip_frames(start_ms: int, end_ms: int) -> list[Any]:
    assert FACES is not None
    cap = cv2.VideoCapture(str(Path(FACES) / CLIP))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        if start_ms <= ms < end_ms:
            frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip's first 3 s (two blinks) as the fake camera's looped .y4m (made here, never committed)."""
    frames = _clip_frames(0, 3000)
    return frames_to_y4m(frames, tmp_path_factory.mktemp("camera") / "blinks.y4m", width=480, fps=30)


@pytest.fixture(scope="module")
def same_person_photo() -> bytes:
    """A frame of the same recording at another moment (11 s), the way a counter photo would be taken."""
    frame = _clip_frames(11000, 11100)[0]
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


class _Blinks:
    """The server's random pick fixed to what the clip performs (a test-only override of the challenge)."""

    def choice(self, options: Any) -> Any:
        return 2

    def sample(self, allowed: list[str], count: int) -> list[str]:
        return ["blink", "blink"]


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Challenges ask blink, blink."""

    class FakeSecrets:
        SystemRandom = _Blinks

    monkeypatch.setattr(liveness, "secrets", FakeSecrets)


def _ready(session, settings, clock, photo: bytes, **extra: Any):  # type: ignore[no-untyped-def]
    """A pensioner enrolled from `photo` alone (no other enrolments: no cohort), this season open."""
    f.seed_regions(session)
    p = f.pensioner(session, **extra)
    season_service.create_season(session=session, settings=settings, year=2026)
    face_service.enrol(
        session=session,
        settings=settings,
        pensioner_id=p.id,
        photos=[photo],
        source="counter",
        consent_method="paper_form",
        staff_id=None,
        now=clock.now,
    )
    session.commit()
    return p


class Page:
    """The browser on the app, with the few steps every test takes."""

    def __init__(self, browser: Browser, base: str, session) -> None:  # type: ignore[no-untyped-def]
        self.browser, self.base, self.session = browser, base, session
        self.portrait()

    def portrait(self) -> None:
        """A phone held upright: 360x640 CSS pixels (headless windows cannot be narrower than about 500)."""
        self.browser.call(
            "Emulation.setDeviceMetricsOverride", session=True, width=360, height=640, deviceScaleFactor=1, mobile=True
        )

    def js(self, expression: str) -> Any:
        return self.browser.evaluate(expression)

    def until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.browser.poll(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}: screen {self.screen()}, {self.text()[:300]}")

    def screen(self) -> str:
        return str(self.js("document.getElementById('screen').dataset.screen || ''"))

    def text(self) -> str:
        return str(self.js("document.getElementById('screen').innerText"))

    def on(self, name: str, timeout: float = 30) -> None:
        self.until(f"document.getElementById('screen').dataset.screen === '{name}'", timeout)

    def click(self, element_id: str) -> None:
        self.until(f"!!document.getElementById('{element_id}')")
        self.js(f"document.getElementById('{element_id}').click()")

    def type(self, element_id: str, value: str) -> None:
        self.until(f"!!document.getElementById('{element_id}')")
        self.js(f"document.getElementById('{element_id}').value = '{value}'")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.3)  # let the screen settle (fonts, the camera's first frames)
        # What the person sees without scrolling (the viewport), not the whole page.
        data = self.browser.call("Page.captureScreenshot", session=True, format="png")["data"]
        (SHOTS / f"app_{name}.png").write_bytes(base64.b64decode(data))

    def code(self, pensioner_id: int) -> str:
        self.session.rollback()
        bodies = self.session.scalars(
            select(Notification.body_zh)
            .where(Notification.pensioner_id == pensioner_id, Notification.kind == "otp")
            .order_by(Notification.id.desc())
        ).all()
        self.session.commit()
        print("codes", bodies)
        body = bodies[0] if bodies else None
        assert body is not None
        found = re.search(r"验证码是(\d+)", body)
        assert found is not None
        return found.group(1)

    def login(self, national_id: str, pensioner_id: int, *, helper: bool = False, shots: bool = False) -> None:
        self.on("login")
        self.type("nid", national_id)
        if shots:
            self.shot("login")
        self.click("send-helper" if helper else "send-self")
        self.on("code")
        self.type("code", self.code(pensioner_id))
        if shots:
            self.shot("code")
        self.click("login")

    def fetch_base64(self, path: str) -> str:
        """GET an API path with the page's own token; the body as base64."""
        expression = (
            "(async () => { const r = await fetch('/api/v1" + path + "', {headers: {Authorization: "
            "'Bearer ' + sessionStorage.getItem('pc_access')}}); const b = new Uint8Array(await r.arrayBuffer());"
            " let s = ''; for (const x of b) s += String.fromCharCode(x); return btoa(s); })()"
        )
        result = self.browser.call(
            "Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True, timeout=30
        )
        return str(result["result"]["value"])

    def landscape(self) -> None:
        """A phone held sideways: 640x360."""
        self.browser.call(
            "Emulation.setDeviceMetricsOverride", session=True, width=640, height=360, deviceScaleFactor=1, mobile=True
        )

    def certify(self, shots: bool = False, landscape: bool = False) -> str:
        """From the status page through the camera to the answer; returns the decision shown."""
        self.click("to-certify")
        self.on("certify")
        if shots:
            self.shot("permission")
        self.click("open-camera")
        self.on("camera")
        self.until("document.getElementById('hint').dataset.hint")
        if shots:
            self.shot("camera")
        if landscape:
            assert self.js(_AUDIT) == []
            self.shot("camera_landscape")
        self.click("ready")
        self.until("!!document.getElementById('step')")
        if shots:
            self.until("!!document.getElementById('step-of')")
            self.shot("step")
        self.on("upload", timeout=40)
        if shots:
            self.shot("upload")
        self.on("result", timeout=240)
        return str(self.js("document.getElementById('result').dataset.decision"))


# Page checks for old eyes and hands: text size, target size and contrast of every visible element.
_AUDIT = """(() => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
    if (!c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const out = [];
  for (const el of document.querySelectorAll('main *, header *')) {
    if (!el.offsetParent || el.closest('.stage')) continue;
    const st = getComputedStyle(el);
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own && parseFloat(st.fontSize) < 20) out.push(`small text ${el.tagName} ${st.fontSize} ${el.textContent.slice(0, 20)}`);
    if (own) { const a = lum(st.color), b = lum(bg(el)); const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) out.push(`contrast ${ratio.toFixed(2)} ${el.tagName} ${el.textContent.slice(0, 20)}`); }
    if (['BUTTON', 'INPUT', 'A'].includes(el.tagName)) { const r = el.getBoundingClientRect();
      if (r.height < 48 || r.width < 48) out.push(`target ${el.tagName} ${r.width}x${r.height} ${el.textContent.slice(0, 20)}`); }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('scrolls sideways');
  return out;
})()"""


@pytest.fixture
def page(app, session, camera_file: Path) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """The app served on a free port, Chromium at 360x640 with the fake camera."""
    with serve(app) as base:
        browser = Browser(CHROMIUM or "", extra_flags=fake_camera_flags(str(camera_file)), window=WINDOW)
        try:
            browser.goto(f"{base}/app/")
            yield Page(browser, base, session)
        finally:
            browser.close()


def _one_certification(session, pensioner_id: int) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    count = session.scalar(
        select(func.count()).select_from(Certification).where(Certification.pensioner_id == pensioner_id)
    )
    session.commit()
    return int(count or 0)


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils is not installed (apt-get install -y poppler-utils)"
)
def test_login_status_challenge_recording_certified_receipt(
    page: Page, session, settings, clock, pinned, same_person_photo: bytes
) -> None:  # type: ignore[no-untyped-def]
    p = _ready(session, settings, clock, same_person_photo)
    assert page.js("document.documentElement.lang") == "zh-CN"
    page.login(p.national_id, p.id, shots=True)
    page.on("status")
    assert page.js("document.getElementById('status-card').dataset.status") == "pending"
    assert "截止日期" in page.text() and "剩余天数" in page.text() and "60 天" in page.text()
    assert page.js(_AUDIT) == []
    page.shot("status_pending")
    assert page.certify(shots=True) == "certified"
    assert "认证成功" in page.text()
    page.shot("result_certified")
    assert _one_certification(session, p.id) == 1
    spoken = page.js("window.__spoken || []")
    assert "请慢慢眨一下眼睛" in spoken  # each step was read aloud
    page.click("to-receipt")
    page.on("receipt")
    assert "领取养老金资格认证回执" in page.text()
    page.shot("receipt")
    pdf = base64.b64decode(page.fetch_base64("/me/certification/receipt.pdf"))
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "领取养老金资格认证回执" in text and "手机刷脸认证" in text and p.name in text
    url = re.search(r"(http\S+/app/#/verify/\d+/[A-Z2-7]{5}-[A-Z2-7]{5})", text)
    assert url is not None
    page.browser.goto(url.group(1))
    page.on("verify")
    assert page.js("document.getElementById('verify-card').dataset.valid") == "true"
    page.shot("verify")
    page.js("location.hash = '#/status'")
    page.on("status")
    assert page.js("document.getElementById('status-card').dataset.status") == "certified"
    assert "手机刷脸" in page.text()
    page.shot("status_certified")
    page.click("lang")
    page.until("document.getElementById('screen').innerText.includes('Certified this year')")
    page.shot("status_certified_en")


def test_wrong_person_no_match_with_advice(page: Page, session, settings, clock, pinned) -> None:  # type: ignore[no-untyped-def]
    assert FACES is not None
    stranger = (Path(FACES) / "identities/Jacky_Cheung/1.jpg").read_bytes()
    p = _ready(session, settings, clock, stranger)
    page.login(p.national_id, p.id)
    page.on("status")
    assert page.certify() == "no_match"
    assert page.js("document.querySelectorAll('#advice li').length") >= 1
    assert page.js("!!document.getElementById('go-office') && !!document.getElementById('to-visit')")
    assert page.js(_AUDIT) == []
    page.shot("result_no_match")
    assert _one_certification(session, p.id) == 0


def test_dropped_upload_is_sent_again_and_certifies_once(
    app, session, settings, clock, pinned, same_person_photo: bytes, camera_file: Path
) -> None:  # type: ignore[no-untyped-def]
    """The first answer is lost on the way back (connection cut after the server recorded it): the page sends
    the same recording with the same Idempotency-Key and gets the stored answer."""
    p = _ready(session, settings, clock, same_person_photo)
    calls: list[str] = []

    async def dropping(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and scope["path"].endswith("/me/certifications") and not calls:
            calls.append("dropped")
            held: list[Any] = []

            async def hold(message):  # type: ignore[no-untyped-def]
                held.append(message)

            await app(scope, receive, hold)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"99999")]})
            raise ConnectionResetError("the answer was lost on the way back")
        if scope["type"] == "http" and scope["path"].endswith("/me/certifications"):
            calls.append("sent again")
        await app(scope, receive, send)

    with serve(dropping) as base:
        browser = Browser(CHROMIUM or "", extra_flags=fake_camera_flags(str(camera_file)), window=WINDOW)
        try:
            browser.goto(f"{base}/app/")
            page = Page(browser, base, session)
            page.login(p.national_id, p.id)
            page.on("status")
            assert page.certify() == "certified"
        finally:
            browser.close()
    assert calls == ["dropped", "sent again"]
    assert _one_certification(session, p.id) == 1
    session.expire_all()
    attempts = session.scalar(
        select(func.count()).select_from(VerificationAttempt).where(VerificationAttempt.pensioner_id == p.id)
    )
    session.commit()
    assert attempts == 1


def test_family_helper_flow(page: Page, session, settings, clock, pinned, same_person_photo: bytes) -> None:  # type: ignore[no-untyped-def]
    p = _ready(session, settings, clock, same_person_photo, family_phone="13900000002")
    page.login(p.national_id, p.id, helper=True)
    page.on("status")
    whose = page.js("document.getElementById('whose').textContent")
    assert "家属代办" in whose and p.name in whose and "139****0002" in whose
    session.expire_all()
    sent_to = session.scalars(select(Notification.phone).where(Notification.kind == "otp")).all()
    session.commit()
    assert sent_to == ["13900000002"]  # the code went to the helper's phone only
    page.shot("status_helper")
    page.landscape()
    assert page.js(_AUDIT) == []
    page.shot("status_landscape")
    assert page.certify(landscape=True) == "certified"
    session.expire_all()
    helpers = session.scalars(
        select(VerificationAttempt.helper_phone).where(VerificationAttempt.pensioner_id == p.id)
    ).all()
    session.commit()
    assert helpers == ["13900000002"]


def test_camera_denied_and_no_recorder_offer_a_home_visit(page: Page, session, settings, clock) -> None:  # type: ignore[no-untyped-def]
    assert FACES is not None
    photo = (Path(FACES) / "identities/Jacky_Cheung/1.jpg").read_bytes()
    p = _ready(session, settings, clock, photo)
    page.login(p.national_id, p.id)
    page.on("status")
    page.js("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'))")
    page.click("to-certify")
    page.click("open-camera")
    page.on("camera-problem")
    assert page.js("document.getElementById('problem').dataset.kind") == "denied"
    assert "拒绝" in page.text() and "上门认证" in page.text()
    assert page.js(_AUDIT) == []
    page.shot("camera_denied")
    page.js("delete window.MediaRecorder; location.hash = '#/certify'")
    page.until("document.getElementById('problem')?.dataset.kind === 'unsupported'")
    assert "不能录像" in page.text()
    page.click("to-visit")
    page.on("visit")
    page.shot("visit_ask")
    page.click("visit-submit")
    page.until("document.getElementById('visit-card')?.dataset.status === 'open'")
    page.shot("visit_booked")
    page.js("location.hash = '#/status'")
    page.on("status")
    page.until("!!document.getElementById('visit-card')")
    assert "已预约上门认证" in page.text()


def test_expired_login_mid_flow_returns_to_the_same_screen(page: Page, session, settings, clock) -> None:  # type: ignore[no-untyped-def]
    assert FACES is not None
    photo = (Path(FACES) / "identities/Jacky_Cheung/1.jpg").read_bytes()
    p = _ready(session, settings, clock, photo)
    # Suspended for last season since 1 July 2025: the page says what to do and the back pay to expect.
    p.pension_status = "suspended"
    session.add(Suspension(pensioner_id=p.id, season_year=2025, effective_date=date(2025, 7, 1)))
    session.commit()
    page.login(p.national_id, p.id)
    page.on("status")
    assert page.js("document.getElementById('status-card').dataset.status") == "suspended"
    assert "约 10 个月的养老金" in page.text() and "怎么办" in page.text()
    assert page.js(_AUDIT) == []
    page.shot("status_suspended")
    page.click("to-visit")
    page.on("visit")
    # Both tokens dead (the refresh is refused too): the next call sends the pensioner to log in.
    page.js("sessionStorage.setItem('pc_access', 'x.y.z'); sessionStorage.setItem('pc_refresh', 'x.y.z')")
    page.js("location.hash = '#/visit/again'")
    page.on("login")
    assert "登录已过期" in page.text()
    assert page.js("document.getElementById('nid').value") == p.national_id
    page.shot("login_expired")
    page.login(p.national_id, p.id)
    page.on("visit")
