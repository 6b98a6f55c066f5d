"""`pension-cert serve` believes X-Forwarded-For only from PENSION_CERT_TRUSTED_PROXIES (issue 15 item 6)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from api import observability
from cli import app as cli_app
from core.settings import get_settings
from models import migrate


def _serve_options(monkeypatch: pytest.MonkeyPatch, trusted: str | None) -> dict[str, Any]:
    """The keyword arguments `serve` hands to uvicorn.run (nothing is started, nothing migrated)."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(migrate, "upgrade", lambda *a, **kw: None)
    monkeypatch.setattr(observability, "configure_logging", lambda *a, **kw: None)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable must not widen the trust
    if trusted is None:
        monkeypatch.delenv("PENSION_CERT_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("PENSION_CERT_TRUSTED_PROXIES", trusted)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return seen


def _client_seen(options: dict[str, Any], peer: str, forwarded: str) -> str:
    """The client address the app sees behind uvicorn configured with `options`."""
    seen: list[str] = []

    async def inner(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    config = uvicorn.Config(
        inner,
        proxy_headers=options.get("proxy_headers", True),
        forwarded_allow_ips=options.get("forwarded_allow_ips"),
        lifespan="off",
    )
    config.load()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"x-forwarded-for", forwarded.encode())],
        "client": (peer, 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    asyncio.run(config.loaded_app(scope, receive, send))
    return seen[0]


def test_forwarded_for_is_ignored_by_default_even_from_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _serve_options(monkeypatch, None)
    assert _client_seen(options, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert _client_seen(options, "198.51.100.4", "203.0.113.9") == "198.51.100.4"


def test_forwarded_for_is_believed_only_from_the_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _serve_options(monkeypatch, "10.0.0.0/8, 192.0.2.10")
    assert _client_seen(options, "10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert _client_seen(options, "192.0.2.10", "203.0.113.9") == "203.0.113.9"
    assert _client_seen(options, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert _client_seen(options, "192.0.2.11", "203.0.113.9") == "192.0.2.11"
    # A chain: the client is the last address not itself a trusted proxy (a spoofed first entry is ignored).
    assert _client_seen(options, "10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9") == "203.0.113.9"
