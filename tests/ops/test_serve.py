"""`pension-cert serve`: worker processes get time to load the face models before uvicorn gives up on them."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from cli import app


def test_workers_are_given_time_to_load_the_face_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's default health check (5 s) killed every worker on a busy 2-core host: importing dlib's and
    OpenCV's models took 16-18 s there, so `serve --workers 2` restarted its workers forever."""
    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: captured.update(kwargs, target=target))
    monkeypatch.setattr("models.migrate.upgrade", lambda url: None)
    monkeypatch.setenv("PENSION_CERT_WORKERS", "1")
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert captured["workers"] == 2
    assert captured.get("timeout_worker_healthcheck", 5) >= 60
