"""/metrics can be bound to a port of its own, off the public listener (issue 15 item 10)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.observability import metrics_app
from core.settings import Settings
from tests.conftest import REPO


def test_with_a_metrics_port_the_main_app_has_no_metrics(settings: Settings) -> None:
    settings.metrics_port = 9464
    app = create_app(settings)
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/metrics").status_code == 404
    app.state.engine.dispose()


def test_the_metrics_app_serves_only_metrics_and_keeps_the_token(settings: Settings) -> None:
    settings.metrics_port = 9464
    app = metrics_app(settings)
    with TestClient(app) as c:
        resp = c.get("/metrics")
        assert resp.status_code == 200 and "pension_cert_outbox_pending" in resp.text
        assert c.get("/healthz").status_code == 404 and c.get("/api/v1/auth/otp").status_code == 404
        settings.metrics_token = "scrape-secret"
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    app.state.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: float = 90) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.skipif(sys.platform != "linux", reason="starts the real service")
def test_serve_starts_a_second_listener_for_metrics(tmp_path: Path) -> None:
    port, metrics_port = _free_port(), _free_port()
    env = dict(
        os.environ,
        PENSION_CERT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        PENSION_CERT_PORT=str(port),
        PENSION_CERT_METRICS_PORT=str(metrics_port),
        PENSION_CERT_FACE_WORKERS="-1",
        PENSION_CERT_LOG_LEVEL="WARNING",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import app; app()", "serve"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert _wait(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
        scraped = _wait(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        # The same process's counters: the request to the main port is counted.
        assert 'pension_cert_http_requests_total{method="GET",route="/healthz",status="200"}' in scraped.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
