"""A local fake SMS provider with a batch endpoint (tests and bench/bench_outbox.py).

POST /batch {"messages": [{"id", "phone", "text"}]} → {"results": [{"id", "status", "provider_id"}]}.
It drops a repeated hand-off of an id it accepted before ("duplicate", the same provider id), as the
outbox's at-least-once hand-off expects. Faults for tests: `script` (a list of status codes or "half" to
answer the next requests with), `hold_batches` (batch numbers whose answer waits until `release` is set).
GET /stats gives the counters, GET /phone/<number> the time (time.time()) a message to it was accepted.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ProviderState:
    """What the provider saw and how it should misbehave."""

    accepted: dict[str, str] = field(default_factory=dict)  # our id → provider id
    submissions: Counter[str] = field(default_factory=Counter)  # our id → times it was posted
    accepted_at: dict[str, float] = field(default_factory=dict)  # phone → first acceptance time
    batches: int = 0
    script: list[Any] = field(default_factory=list)
    hold_batches: set[int] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    retry_after: str = "1"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, messages: list[dict[str, str]]) -> tuple[int, Any]:
        """Answer one batch: (status, JSON body)."""
        with self.lock:
            self.batches += 1
            number = self.batches
            step = self.script.pop(0) if self.script else None
        if number in self.hold_batches:
            self.release.wait(60)
            return 503, {"error": "held"}  # the sender was killed while waiting; nothing was accepted
        if isinstance(step, int):
            return step, {"error": f"scripted {step}"}
        results = []
        now = time.time()
        with self.lock:
            for i, m in enumerate(messages):
                mid = str(m["id"])
                self.submissions[mid] += 1
                if step == "half" and i % 2 == 1:
                    results.append({"id": mid, "status": "rejected", "error": "throttled_number"})
                    continue
                if mid in self.accepted:
                    results.append({"id": mid, "status": "duplicate", "provider_id": self.accepted[mid]})
                    continue
                self.accepted[mid] = f"p-{mid}"
                self.accepted_at.setdefault(m["phone"], now)
                results.append({"id": mid, "status": "accepted", "provider_id": self.accepted[mid]})
        return 200, {"results": results}


def _handler(state: ProviderState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            """Quiet."""

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            """The batch endpoint."""
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, body = state.take(json.loads(raw)["messages"])
            extra = {"Retry-After": state.retry_after} if status == 429 else None
            with contextlib.suppress(OSError):  # the sender went away
                self._answer(status, body, extra)

        def do_GET(self) -> None:
            """Counters and per-phone acceptance times."""
            if self.path.startswith("/phone/"):
                at = state.accepted_at.get(self.path.removeprefix("/phone/"))
                self._answer(200 if at is not None else 404, {"accepted_at": at})
                return
            with state.lock:
                dup = sum(n - 1 for n in state.submissions.values() if n > 1)
                self._answer(200, {"accepted": len(state.accepted), "batches": state.batches, "resubmitted": dup})

    return Handler


class FakeProvider:
    """The provider on 127.0.0.1:<free port>, served by threads until stop()."""

    def __init__(self, state: ProviderState | None = None, port: int = 0) -> None:
        self.state = state or ProviderState()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.state))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The batch endpoint."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/batch"

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()
