"""Gateways that take batches of outbox messages: the SMS provider's batch endpoint, the log, app push, WeChat.

Every gateway answers per message (`SendResult`): a half-accepted batch is handled message by message. A
whole batch that failed (timeout, 5xx, 429) raises `BatchError`; the sender retries those messages later.
The outbox row id travels as the message's `id`: the provider's key for dropping a repeated hand-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from core.settings import Settings
from models.enums import Channel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message handed to a gateway; `id` is the outbox row id (the provider dedupes on it)."""

    id: int
    phone: str
    body: str
    kind: str
    channel: str = Channel.SMS.value
    pensioner_id: int | None = None


@dataclass(frozen=True)
class SendResult:
    """The gateway's answer for one message: accepted (with its id at the provider) or not, and why."""

    id: int
    accepted: bool
    provider_message_id: str | None = None
    error: str | None = None
    permanent: bool = False  # never retry (e.g. an invalid number); a channel other than SMS falls back at once


class BatchError(Exception):
    """The whole batch was not taken (timeout, 5xx, 429); retry_after is the provider's wish in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GatewayError(BatchError):
    """The gateway did not accept a message (kept for callers of the one-message form)."""


class Gateway(Protocol):
    """Something that delivers batches of messages on one channel."""

    channel: str
    delivers: bool  # False: the outbox row is the delivery (development), so a code's text stays readable
    batch_size: int

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """One result per message (any order), or raise BatchError for the whole batch."""


class Pacer:
    """Spaces hand-offs to at most `rate` messages a second in this process (0: unpaced); thread-safe."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, n: int) -> None:
        """Sleep until `n` more messages may go."""
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / self.rate
        if start > now:
            time.sleep(start - now)


@dataclass
class LogGateway:
    """Development SMS gateway: the outbox row is the record; nothing leaves the machine."""

    channel: str = Channel.SMS.value
    delivers: bool = False
    batch_size: int = 500

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Log a masked line per message and accept it."""
        for m in messages:
            log.info("sms %s to %s***%s", m.id, m.phone[:3], m.phone[-2:])
        return [SendResult(id=m.id, accepted=True, provider_message_id=f"log-{m.id}") for m in messages]


@dataclass
class RecordingGateway:
    """Development app-push or WeChat template gateway: records what it was given and accepts it."""

    channel: str = Channel.PUSH.value
    delivers: bool = True
    batch_size: int = 500
    sent: list[OutgoingMessage] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)  # pensioner ids without the app or a WeChat binding

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Record each message; refused recipients answer not available (permanent)."""
        out = []
        for m in messages:
            if m.pensioner_id is None or m.pensioner_id in self.refuse:
                out.append(SendResult(id=m.id, accepted=False, error=f"{self.channel}_unavailable", permanent=True))
                continue
            self.sent.append(m)
            out.append(SendResult(id=m.id, accepted=True, provider_message_id=f"{self.channel}-{m.id}"))
        return out


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: treat as "later", the sender's back-off decides


def _parse_results(messages: Sequence[OutgoingMessage], payload: Any) -> list[SendResult]:
    """Map the provider's per-message answers onto the batch; a message it did not mention is not accepted."""
    answers = {str(r.get("id")): r for r in (payload or {}).get("results", []) if isinstance(r, dict)}
    out = []
    for m in messages:
        r = answers.get(str(m.id))
        if r is None:
            out.append(SendResult(id=m.id, accepted=False, error="not in the provider's answer"))
        elif r.get("status") in ("accepted", "duplicate"):
            pid = r.get("provider_id")
            out.append(SendResult(id=m.id, accepted=True, provider_message_id=str(pid) if pid is not None else None))
        else:
            err = str(r.get("error") or r.get("status") or "rejected")[:200]
            out.append(SendResult(id=m.id, accepted=False, error=err, permanent=bool(r.get("permanent"))))
    return out


@dataclass
class HttpBatchGateway:
    """POSTs batches to an SMS provider's batch endpoint over one reused connection pool.

    Request: {"messages": [{"id": "<outbox id>", "phone": …, "text": …}]}, Bearer token.
    Answer 2xx: {"results": [{"id": …, "status": "accepted"|"duplicate"|"rejected", "provider_id": …,
    "error": …, "permanent": bool}]}; 429 (with Retry-After), 5xx and timeouts fail the whole batch.
    """

    url: str
    token: str = ""
    timeout: float = 10.0
    batch_size: int = 500
    rate_per_second: float = 0.0
    client: httpx.Client | None = None
    channel: str = Channel.SMS.value
    delivers: bool = True
    _pacer: Pacer | None = None

    def _client(self) -> httpx.Client:
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout, limits=httpx.Limits(max_keepalive_connections=4))
        return self.client

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Post one batch; per-message results, or BatchError for the whole batch."""
        if not messages:
            return []
        if self._pacer is None:
            self._pacer = Pacer(self.rate_per_second)
        self._pacer.wait(len(messages))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"messages": [{"id": str(m.id), "phone": m.phone, "text": m.body} for m in messages]}
        try:
            resp = self._client().post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise BatchError(f"{type(exc).__name__}: {exc}"[:200]) from exc
        if resp.status_code == 429:
            raise BatchError("HTTP 429", retry_after=_retry_after(resp))
        if not 200 <= resp.status_code < 300:
            raise BatchError(f"HTTP {resp.status_code}", retry_after=_retry_after(resp))
        try:
            payload = resp.json()
        except ValueError as exc:
            raise BatchError("unreadable answer") from exc
        return _parse_results(messages, payload)

    def send(self, *, phone: str, body: str, message_id: int) -> str | None:
        """Send one message (a batch of one); returns the provider's id or raises GatewayError."""
        try:
            [result] = self.send_batch([OutgoingMessage(id=message_id, phone=phone, body=body, kind="")])
        except BatchError as exc:
            raise GatewayError(str(exc), retry_after=exc.retry_after) from exc
        if not result.accepted:
            raise GatewayError(result.error or "rejected")
        return result.provider_message_id


Gateways = dict[str, Gateway]

_CACHE: dict[tuple[Any, ...], Gateways] = {}
_CACHE_LOCK = threading.Lock()


def make_gateways(settings: Settings) -> Gateways:
    """The configured gateways by channel (SMS always); one instance per process and configuration."""
    key = (
        settings.sms_gateway,
        settings.sms_http_url,
        settings.sms_http_token,
        settings.sms_http_timeout_seconds,
        settings.sms_batch_size,
        settings.sms_rate_per_second,
        settings.push_gateway,
        settings.wechat_gateway,
    )
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = _build(settings)
        return found


def available_channels(settings: Settings) -> list[str]:
    """The channels this deployment has a gateway for, SMS first (always there: the fallback)."""
    offered = {Channel.PUSH.value: settings.push_gateway, Channel.WECHAT.value: settings.wechat_gateway}
    return [Channel.SMS.value, *(channel for channel, gateway in offered.items() if gateway != "off")]


def _build(settings: Settings) -> Gateways:
    sms: Gateway
    if settings.sms_gateway == "http":
        sms = HttpBatchGateway(
            url=settings.sms_http_url,
            token=settings.sms_http_token,
            timeout=settings.sms_http_timeout_seconds,
            batch_size=settings.sms_batch_size,
            rate_per_second=settings.sms_rate_per_second,
        )
    else:
        sms = LogGateway(batch_size=settings.sms_batch_size)
    gateways: Gateways = {Channel.SMS.value: sms}
    if settings.push_gateway == "log":
        gateways[Channel.PUSH.value] = RecordingGateway(channel=Channel.PUSH.value)
    if settings.wechat_gateway == "log":
        gateways[Channel.WECHAT.value] = RecordingGateway(channel=Channel.WECHAT.value)
    return gateways
