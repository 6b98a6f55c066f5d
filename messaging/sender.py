"""Outbox senders: rounds of claim → hand over → record, the fast lane first; the request's hand-off of a code.

A round claims one batch per lane in its own short transaction, calls the gateway outside any transaction
(SQLite's single writer is never held during HTTP), then records the results in a second one. Any number of
sender processes may run side by side (docs/operations.md, "Outbox senders").
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import outbox
from messaging.gateways import Gateways
from models.engine import session_scope
from models.enums import Channel, OutboxLane

log = logging.getLogger(__name__)
LANES = (OutboxLane.FAST.value, OutboxLane.BULK.value)


@dataclass(frozen=True)
class SenderConfig:
    """The sender's limits, from settings."""

    tz: str = "Asia/Shanghai"
    quiet_start: int = 21
    quiet_end: int = 8
    max_attempts: int = 5
    lease_seconds: int = 120
    retry_base_seconds: int = 10
    batch_limit: int = 500
    season_policy: str = "window"

    @classmethod
    def from_settings(cls, s: Settings) -> SenderConfig:
        """The configuration settings describe."""
        return cls(
            tz=s.timezone,
            quiet_start=s.sms_quiet_start_hour,
            quiet_end=s.sms_quiet_end_hour,
            max_attempts=s.sms_max_attempts,
            lease_seconds=s.outbox_lease_seconds,
            retry_base_seconds=s.outbox_retry_base_seconds,
            batch_limit=max(1, s.sms_batch_size),
            season_policy=s.season_policy,
        )


# Checks a domain above messaging adds on each claimed batch (certification: a reminder whose person has
# certified, or that a newer one superseded): (session, claimed, local today, config) -> {id: expired status}.
Screen = Callable[[Session, list[outbox.Claimed], date, SenderConfig], dict[int, str]]
SCREENS: list[Screen] = []


def register_screen(screen: Screen) -> None:
    """Add a check every claimed batch passes before it is handed over (once per function)."""
    if screen not in SCREENS:
        SCREENS.append(screen)


def new_worker_id() -> str:
    """An id for this sender's leases (process id and a random part)."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _quiet(lane: str, now: datetime, cfg: SenderConfig) -> bool:
    """Quiet hours hold the bulk lane only; the fast lane goes day and night."""
    return lane == OutboxLane.BULK.value and outbox.in_quiet_hours(
        now, tz=cfg.tz, start_hour=cfg.quiet_start, end_hour=cfg.quiet_end
    )


def _local_today(now: datetime, cfg: SenderConfig) -> date:
    return now.astimezone(ZoneInfo(cfg.tz)).date()


def _claim(
    session: Session, lane: str, now: datetime, cfg: SenderConfig, worker: str, ids: Sequence[int] | None = None
) -> tuple[list[outbox.Claimed], int]:
    claimed = outbox.claim(
        session=session,
        lane=lane,
        now=now,
        limit=cfg.batch_limit,
        lease_seconds=cfg.lease_seconds,
        worker=worker,
        ids=ids,
    )
    today = _local_today(now, cfg)
    stale = outbox.past_deadline(claimed, today)
    for screen in SCREENS:
        stale |= screen(session, [c for c in claimed if c.id not in stale], today, cfg)
    return outbox.expire_claimed(session=session, claimed=claimed, stale=stale), len(claimed)


def _record(
    session: Session, gateways: Gateways, live: list[outbox.Claimed], outcomes: dict[int, outbox.Outcome], **kw: object
) -> outbox.Counts:
    cfg: SenderConfig = kw["cfg"]  # type: ignore[assignment]
    return outbox.record(
        session=session,
        claimed=live,
        outcomes=outcomes,
        worker=str(kw["worker"]),
        now=kw["now"],  # type: ignore[arg-type]
        max_attempts=cfg.max_attempts,
        retry_base_seconds=cfg.retry_base_seconds,
        redact_secrets=getattr(gateways[Channel.SMS.value], "delivers", True),
    )


def send_pending(
    *,
    session: Session,
    gateways: Gateways,
    now: datetime,
    cfg: SenderConfig,
    lanes: Sequence[str] = LANES,
    worker: str | None = None,
) -> dict[str, int]:
    """One round in the caller's transaction (tests, small jobs): each lane's batch claimed, sent, recorded."""
    worker = worker or new_worker_id()
    counts = outbox.Counts()
    for lane in lanes:
        if _quiet(lane, now, cfg):
            counts.deferred_quiet_hours = 1
            continue
        live, n = _claim(session, lane, now, cfg, worker)
        outcomes = outbox.deliver(gateways=gateways, claimed=live)
        got = _record(session, gateways, live, outcomes, cfg=cfg, worker=worker, now=now)
        got.claimed, got.expired = n, n - len(live)
        counts.add(got)
    session.flush()
    return counts.as_dict()


def send_round(
    *,
    session_factory: sessionmaker[Session],
    gateways: Gateways,
    now: datetime,
    cfg: SenderConfig,
    worker: str,
    lanes: Sequence[str] = LANES,
    ids: Sequence[int] | None = None,
) -> outbox.Counts:
    """One batch per lane, fast lane first; claim and record each commit on their own, the gateway call between."""
    counts = outbox.Counts()
    for lane in lanes:
        if _quiet(lane, now, cfg):
            counts.deferred_quiet_hours = 1
            continue
        with session_scope(session_factory) as session:
            live, n = _claim(session, lane, now, cfg, worker, ids)
        if not n:
            continue
        outcomes = outbox.deliver(gateways=gateways, claimed=live)
        with session_scope(session_factory) as session:
            got = _record(session, gateways, live, outcomes, cfg=cfg, worker=worker, now=now)
        got.claimed, got.expired = n, n - len(live)
        counts.add(got)
    return counts


def drain(
    *,
    session_factory: sessionmaker[Session],
    gateways: Gateways,
    now: Callable[[], datetime],
    cfg: SenderConfig,
    lanes: Sequence[str] = LANES,
    budget_seconds: float = 240.0,
    worker: str | None = None,
) -> outbox.Counts:
    """Rounds until nothing is due or the time budget is spent."""
    worker = worker or new_worker_id()
    total = outbox.Counts()
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        got = send_round(
            session_factory=session_factory, gateways=gateways, now=now(), cfg=cfg, worker=worker, lanes=lanes
        )
        total.add(got)
        if not got.claimed:
            break
    total.deferred_quiet_hours = min(1, total.deferred_quiet_hours)
    return total


def serve(
    *,
    session_factory: sessionmaker[Session],
    gateways: Gateways,
    settings: Settings,
    lanes: Sequence[str],
    stop: threading.Event,
    now: Callable[[], datetime],
) -> outbox.Counts:
    """A sender process's loop until `stop`: rounds while work is due, short sleeps when the lanes are empty."""
    cfg, worker, total = SenderConfig.from_settings(settings), new_worker_id(), outbox.Counts()
    while not stop.is_set():
        got = send_round(
            session_factory=session_factory, gateways=gateways, now=now(), cfg=cfg, worker=worker, lanes=lanes
        )
        total.add(got)
        if got.claimed:
            continue
        idle = settings.outbox_fast_poll_seconds
        if OutboxLane.FAST.value not in lanes:
            idle = settings.outbox_bulk_poll_seconds
        stop.wait(idle)
    return total


def deliver_now(
    *, session_factory: sessionmaker[Session], gateways: Gateways, settings: Settings, ids: Sequence[int], now: datetime
) -> None:
    """Hand messages a person is waiting for to the gateway right after their request committed.

    A gateway that is down leaves them pending with a short back-off; the fast-lane sender retries them.
    """
    try:
        send_round(
            session_factory=session_factory,
            gateways=gateways,
            now=now,
            cfg=SenderConfig.from_settings(settings),
            worker=new_worker_id(),
            lanes=(OutboxLane.FAST.value,),
            ids=ids,
        )
    except Exception:  # the row stays pending (or its lease ends): the sender retries it
        log.exception("immediate hand-off of %s failed; the fast-lane sender retries", list(ids))
