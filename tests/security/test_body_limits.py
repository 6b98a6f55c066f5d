"""Request bodies are limited before anything reads them: declared and streamed size, per route class (issue 15 item 4)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings

KIB = 1024
MIB = 1024 * 1024


class Driven:
    """What an ASGI app answered and how many body chunks it pulled."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.pulled = 0

    def json(self) -> Any:
        return json.loads(self.body)


def drive(app: FastAPI, path: str, chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> Driven:
    """POST to the app over raw ASGI, feeding the body one chunk per receive() and counting the pulls."""
    out = Driven()

    async def receive() -> dict[str, Any]:
        try:
            chunk = next(chunks)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        out.pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return out


VIDEO_PART = b'--x\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n'


def repeat(chunk: bytes, total: int, head: bytes = b"") -> Iterator[bytes]:
    """`head`, then `total` bytes in pieces of `chunk`, produced lazily (never all in memory)."""
    if head:
        yield head
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


def _too_large(resp: Driven) -> dict[str, Any]:
    assert resp.status == 413, resp.body[:300]
    body = resp.json()
    assert body["code"] == "payload_too_large" and body["message"] and body["message_en"]
    assert resp.headers["content-type"].startswith("application/json")
    return body


@pytest.fixture
def bare_app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def test_json_body_declared_too_large_is_refused_unread(bare_app: FastAPI) -> None:
    body = _too_large(
        drive(
            bare_app,
            "/api/v1/auth/otp",
            repeat(b" " * (16 * KIB), 200 * MIB),
            {"content-type": "application/json", "content-length": str(200 * MIB)},
        )
    )
    assert body["detail"] == {"limit_bytes": 64 * KIB}


def test_json_body_streamed_without_length_stops_at_the_limit(bare_app: FastAPI) -> None:
    resp = drive(
        bare_app, "/api/v1/auth/otp", repeat(b" " * (16 * KIB), 200 * MIB), {"content-type": "application/json"}
    )
    _too_large(resp)
    assert resp.pulled <= 64 // 16 + 1  # the rest of the 200 MB was never read


def test_json_limit_follows_the_setting_and_small_bodies_pass(client: TestClient, settings: Settings) -> None:
    ok = client.post("/api/v1/auth/otp", json={"national_id": "110101195003041234"})
    assert ok.status_code != 413
    settings.max_json_bytes = 10
    assert client.post("/api/v1/auth/otp", json={"national_id": "110101195003041234"}).status_code == 413


def test_streamed_generator_through_the_client_is_refused(client: TestClient) -> None:
    def gen() -> Iterator[bytes]:
        yield from repeat(b"{" * (64 * KIB), 2 * MIB)

    resp = client.post("/api/v1/auth/otp", content=gen(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in resp.request.headers}
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"


def test_upload_without_credentials_is_refused_before_its_body(bare_app: FastAPI) -> None:
    headers = {"content-type": "multipart/form-data; boundary=x", "content-length": str(300 * MIB)}
    resp = drive(bare_app, "/api/v1/me/certifications", repeat(b"x" * MIB, 300 * MIB), headers)
    assert resp.status == 401 and resp.json()["code"] == "not_authenticated" and resp.pulled == 0


def test_upload_streamed_past_its_budget_stops_there(bare_app: FastAPI, settings: Settings) -> None:
    settings.max_video_bytes = 3 * MIB
    settings.max_frame_bytes = 16 * KIB  # 90 frames: 1.4 MB; the video budget is the larger
    headers = {"content-type": "multipart/form-data; boundary=x", "authorization": "Bearer not-a-real-token"}
    resp = drive(bare_app, "/api/v1/me/certifications", repeat(b"x" * MIB, 300 * MIB, VIDEO_PART), headers)
    body = _too_large(resp)
    assert body["detail"]["limit_bytes"] > 3 * MIB and resp.pulled <= 6


def test_upload_declared_past_its_budget_is_refused_unread(bare_app: FastAPI, settings: Settings) -> None:
    settings.max_upload_bytes = 1 * MIB
    headers = {
        "content-type": "multipart/form-data; boundary=x",
        "authorization": "Bearer x",
        "content-length": str(3 * MIB),
    }
    resp = drive(bare_app, "/api/v1/pensioners/1/face-verifications", repeat(b"x" * MIB, 3 * MIB), headers)
    _too_large(resp)
    assert resp.pulled == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_server_answers_413_while_the_client_is_still_sending(settings: Settings) -> None:
    """Over a socket, a chunked upload of 300 MB is answered as soon as it passes the budget."""
    settings.max_video_bytes = 2 * MIB
    settings.max_frame_bytes = 16 * KIB
    application = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(
            b"POST /api/v1/me/certifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(VIDEO_PART):x}\r\n".encode()
            + VIDEO_PART
            + b"\r\n"
        )
        sent = [0]
        answered = threading.Event()

        def sender() -> None:
            chunk = b"x" * (256 * KIB)
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                while sent[0] < 300 * MIB and not answered.is_set():
                    sock.sendall(frame)
                    sent[0] += len(chunk)
            except OSError:
                pass  # the server closed the connection after answering

        feeder = threading.Thread(target=sender, daemon=True)
        feeder.start()
        answer = sock.recv(65536)
        answered.set()
        sent_when_answered = sent[0]
        while b"}" not in answer.partition(b"\r\n\r\n")[2]:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        feeder.join(timeout=20)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"payload_too_large" in answer
        assert sent_when_answered < 40 * MIB, sent_when_answered  # long before the 300 MB were sent
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        application.state.engine.dispose()
