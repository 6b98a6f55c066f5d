"""The counter page in headless Chromium with a fake webcam fed a real recording: a clerk finds the pensioner,
enrols the face with consent, the same person then matches (in the page and through the API with another frame
of the recording), is certified at the counter on that check, and the receipt is printable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from models import BiometricConsent, Certification, FaceTemplate
from tests import factories as f
from tests.browser.camera import video_to_y4m
from tests.browser.cdp import Browser, chromium_path, fake_camera_flags
from tests.browser.server import serve
from tests.conftest import faces_dir
from tests.staff.browser_helpers import login, screenshot, wait_js
from tests.supervisor.conftest import City

FACES = faces_dir()
RECORDING = "video/actions/east_asian_woman_blinks.mp4"
pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(
        FACES is None or not (Path(FACES or ".") / RECORDING).exists(),
        reason="real face recordings not found (../shared/faces/video or PENSION_CERT_TEST_FACES)",
    ),
]


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port."""
    with serve(app) as url:
        yield url


def _frame_jpeg(source: Path, at_fraction: float) -> bytes:
    """One frame of the recording as JPEG (a later moment than the page's enrolment frames)."""
    cap = cv2.VideoCapture(str(source))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(total * at_fraction))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return cv2.imencode(".jpg", frame)[1].tobytes()


def _result(browser: Browser, before: int) -> dict[str, str]:
    """The next result box the page shows after an action (counted by the outcome's change counter)."""
    return wait_js(
        browser,
        f"window.outcomes > {before} && (() => {{ const b = document.querySelector('#outcome [data-result]');"
        " return {kind: b.dataset.result, decision: b.dataset.decision || '', text: b.innerText}; })()",
        timeout=90,
    )


def test_clerk_enrols_with_the_webcam_then_the_pensioner_matches_and_is_certified(
    served: str, client, session, city: City, tmp_path: Path
) -> None:
    assert FACES is not None
    clerk = f.staff(session, role="counter", region=f.CITY, username="clerk_cam")
    person = f.pensioner(session, name="陈柜台", birth=date_of(1952), phone="13711112222")
    session.commit()
    camera = video_to_y4m(Path(FACES) / RECORDING, tmp_path / "camera.y4m", max_seconds=12)
    browser = Browser(chromium_path() or "", extra_flags=fake_camera_flags(str(camera)), window=(1280, 800))
    try:
        assert login(browser, served, clerk.username).endswith("/staff/counter/")
        browser.evaluate(
            f"document.getElementById('q').value = '{person.national_id[-6:]}';"
            "document.getElementById('search-submit').click();"
        )
        wait_js(browser, f"document.getElementById('card-id').textContent === '{person.national_id}'")
        assert browser.evaluate("document.getElementById('card-face').dataset.enrolled") == "false"
        assert browser.evaluate("document.getElementById('card-season').dataset.state") == "pending"
        wait_js(browser, "document.getElementById('video').videoWidth > 0", timeout=30)
        wait_js(browser, "document.querySelectorAll('#quality li').length > 0")  # live quality hints
        assert browser.evaluate("document.getElementById('enrol').disabled") is True  # consent first
        browser.evaluate("document.getElementById('consent').click()")
        browser.evaluate("document.getElementById('enrol').click()")
        enrolled = _result(browser, 0)
        assert enrolled["kind"] == "ok", enrolled
        wait_js(browser, "document.getElementById('card-face').dataset.enrolled === 'true'")
        browser.evaluate("document.getElementById('verify').click()")
        checked = _result(browser, 1)
        assert checked["decision"] == "match", checked
        # The same person, a frame from later in the recording, through the API: a match too.
        hdr = f.staff_token(client, clerk)
        api = client.post(
            f"/api/v1/pensioners/{person.id}/face-verifications",
            files={"photo": ("frame.jpg", _frame_jpeg(Path(FACES) / RECORDING, 0.8), "image/jpeg")},
            headers=hdr,
        )
        assert api.status_code == 200 and api.json()["decision"] == "match", api.text
        wait_js(browser, "document.getElementById('certify').disabled === false")
        browser.evaluate("document.getElementById('certify').click()")
        wait_js(browser, "!document.getElementById('receipt').hidden", timeout=30)
        wait_js(browser, "document.getElementById('card-season').dataset.state === 'certified'")
        assert browser.evaluate("document.getElementById('r-name').textContent") == "陈柜台"
        assert browser.evaluate("document.getElementById('r-clerk').textContent") == "clerk_cam"
        rows = browser.evaluate("[...document.querySelectorAll('#checks tbody tr')].map(r => r.dataset.decision)")
        assert rows[:2] == ["match", "match"]
        screenshot(browser, "staff_counter.png", tmp_path)
        browser.call("Emulation.setEmulatedMedia", session=True, media="print")
        assert browser.evaluate("getComputedStyle(document.querySelector('.bar')).visibility") == "hidden"
        assert browser.evaluate("getComputedStyle(document.getElementById('receipt')).visibility") == "visible"
        screenshot(browser, "staff_counter_receipt_print.png", tmp_path)
    finally:
        browser.close()
    session.commit()
    cert = session.scalar(select(Certification).where(Certification.pensioner_id == person.id))
    assert cert is not None and cert.channel == "counter" and cert.attempt_id is not None
    consent = session.scalar(select(BiometricConsent).where(BiometricConsent.pensioner_id == person.id))
    assert consent is not None and consent.recorded_by_staff_id == clerk.id and consent.method == "counter_signature"
    anchors = session.scalars(
        select(FaceTemplate).where(FaceTemplate.pensioner_id == person.id, FaceTemplate.kind == "anchor")
    ).all()
    assert anchors and all(t.created_by_staff_id == clerk.id for t in anchors)
    session.commit()


def date_of(year: int):  # type: ignore[no-untyped-def]
    """1 March of `year`."""
    from datetime import date

    return date(year, 3, 1)
