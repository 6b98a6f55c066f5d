"""Request ids, JSON log lines, /metrics (HTTP, face decisions, sweeps, outbox backlog)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from prometheus_client import REGISTRY

from api.observability import JsonFormatter, mask_national_ids
from core import metrics
from models import Notification
from scheduler import sweeps
from tests import factories as f


def test_request_id_is_echoed_or_generated_and_logged(client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="pension_cert.access")
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces\n"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad id with spaces"
    client.get("/api/v1/pensioners/12345")  # 401, logged under its route template
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "pension_cert.access"]
    first = lines[0]
    assert {k: first[k] for k in ("method", "path", "status", "request_id")} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "request_id": "abc-123",
    }
    assert first["duration_ms"] >= 0 and first["level"] == "info"
    assert lines[-1]["path"] == "/api/v1/pensioners/{pensioner_id}" and lines[-1]["status"] == 401


def test_json_formatter_never_writes_bytes_arrays_or_full_national_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s", ("110101195003041234",), None)
    record.photo = b"\xff\xd8" * 1000
    record.encoding = np.zeros(128)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "id 110101********1234"
    assert line["photo"] == "<2000 bytes>" and line["encoding"] == "<array (128,)>"
    assert mask_national_ids("37100219500304123X, 2026") == "371002********123X, 2026"


def test_metrics_endpoint(client, session, settings) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    session.add_all(
        Notification(phone="13800000001", kind="otp", body_zh="x", body_en="x", status=s)
        for s in ("pending", "pending", "failed", "sent")
    )
    session.commit()
    client.get("/healthz")
    metrics.face_decision("app_certification", "certified")
    sweeps.run_sweeps(
        session_factory=client.app.state.session_factory, settings=settings, now=f.FIXED_NOW, names=["purge_evidence"]
    )
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert 'pension_cert_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "pension_cert_http_request_duration_seconds_bucket" in text
    assert 'pension_cert_face_decisions_total{decision="certified",kind="app_certification"}' in text
    assert "pension_cert_outbox_pending 2.0" in text and "pension_cert_outbox_failed 1.0" in text
    assert (
        REGISTRY.get_sample_value(
            "pension_cert_sweep_duration_seconds_count", {"sweep": "purge_evidence", "result": "ok"}
        )
        or 0
    ) >= 1


def test_metrics_can_require_a_token(client, settings) -> None:
    settings.metrics_token = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
