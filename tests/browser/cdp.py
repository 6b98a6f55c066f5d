"""A tiny Chrome DevTools Protocol client over --remote-debugging-pipe (no Python package needed)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
    "--window-size=1280,1800",
]


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _flags(extra: list[str] | None, window: tuple[int, int] | None) -> list[str]:
    """The base flags, a window size if given, and the caller's (e.g. a fake camera)."""
    flags = [f for f in FLAGS if not (window and f.startswith("--window-size="))]
    if window:
        flags.append(f"--window-size={window[0]},{window[1]}")
    return flags + list(extra or [])


def fake_camera_flags(video: str) -> list[str]:
    """Flags that grant the camera without asking and feed it a .y4m/.mjpeg file."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        "--autoplay-policy=no-user-gesture-required",
    ]


class Browser:
    """One headless Chromium with one page, driven through CDP on fds 3 (in) and 4 (out)."""

    def __init__(
        self, binary: str, *, extra_flags: list[str] | None = None, window: tuple[int, int] | None = None
    ) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def _fds() -> None:
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [binary, *_flags(extra_flags, window), f"--user-data-dir={self._profile}", "about:blank"],
            preexec_fn=_fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, timeout: float = 20, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events are skipped)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError(method)
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page and return its value."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def poll(self, expression: str) -> Any:
        """Like evaluate, but None while a navigation (e.g. a redirect) replaces the page mid-call."""
        try:
            return self.evaluate(expression)
        except RuntimeError as exc:
            if "navigated or closed" in str(exc) or "context" in str(exc).lower():
                return None
            raise

    def goto(self, url: str, accept: Any = None) -> None:
        """Navigate and wait for the load (of `url`, or of a page whose URL passes `accept`, e.g. a redirect)."""
        self.call("Page.navigate", session=True, url=url)
        self.wait_for(accept or (lambda href: href.startswith(url.split("#")[0])))

    def wait_for(self, accept: Any, timeout: float = 20) -> str:
        """Wait until the page is loaded and its URL passes `accept`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.poll("document.readyState + '|' + location.href") or "|"
            ready, href = state.split("|", 1)
            if ready == "complete" and accept(href):
                return str(href)
            time.sleep(0.05)
        raise TimeoutError("page did not load")

    def screenshot(self, path: str) -> None:
        """Save a full-page PNG."""
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self._profile, ignore_errors=True)
