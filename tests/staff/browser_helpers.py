"""Driving the staff pages in headless Chromium: log in through /staff/, wait for a condition, screenshots."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests import factories
from tests.browser.cdp import Browser

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"


def login(browser: Browser, base: str, username: str, *, next_path: str | None = None) -> str:
    """Log in on the one staff login page and return where it landed."""
    url = f"{base}/staff/" + (f"?next={next_path}" if next_path else "")
    browser.goto(url)
    wait_js(browser, "document.getElementById('login-form') !== null")
    browser.evaluate(
        f"document.getElementById('username').value = {json.dumps(username)};"
        f"document.getElementById('password').value = {json.dumps(factories.PASSWORD)};"
        "document.getElementById('login-submit').click();"
    )
    return browser.wait_for(lambda href: "/staff/?" not in href and not href.endswith("/staff/"))


def wait_js(browser: Browser, expression: str, timeout: float = 30) -> Any:
    """Poll a JavaScript expression until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.poll(expression)
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(expression)


def run_async(browser: Browser, expression: str) -> Any:
    """Evaluate an expression that returns a promise, and its value."""
    result = browser.call(
        "Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True, timeout=60
    )
    return result.get("result", {}).get("value")


def screenshot(browser: Browser, name: str, tmp_path: Path) -> Path:
    """A viewport PNG into docs/screens when PENSION_CERT_SCREENSHOTS=1, else into tmp_path."""
    folder = SCREENS if os.environ.get("PENSION_CERT_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    browser.screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


# Bounding boxes of every visible <text> of an SVG chart, in SVG units, and the chart's own size.
LABEL_BOXES = """
(id => {
  const svg = document.getElementById(id);
  const vb = svg.viewBox.baseVal;
  const boxes = [...svg.querySelectorAll('text')].filter(t => t.getAttribute('visibility') !== 'hidden' && t.textContent)
    .map(t => { const b = t.getBBox(); return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height}; });
  return {width: vb.width, height: vb.height, boxes};
})
"""


def overlapping(chart: dict[str, Any]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap, and labels that leave the chart."""
    boxes = chart["boxes"]
    out = []
    for i, a in enumerate(boxes):
        if (
            a["x"] < -0.5
            or a["y"] < -0.5
            or a["x"] + a["w"] > chart["width"] + 0.5
            or a["y"] + a["h"] > chart["height"] + 0.5
        ):
            out.append((a["text"], "outside"))
        for b in boxes[i + 1 :]:
            if (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            ):
                out.append((a["text"], b["text"]))
    return out
