"""Several senders share the outbox; a sender killed mid-batch loses nothing and nothing is sent twice (item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from messaging import outbox, sender
from messaging.gateways import HttpBatchGateway
from tests.messaging.fake_provider import FakeProvider, ProviderState
from tests.messaging.helpers import queue_reminders, statuses
from tests.scheduler.helpers import at

CLI = str(Path(sys.executable).parent / "pension-cert")
NOW = at(2026, 5, 6, 10)


def _env(database_url: str, provider: FakeProvider) -> dict[str, str]:
    return os.environ | {
        "PENSION_CERT_DATABASE_URL": database_url,
        "PENSION_CERT_ENVIRONMENT": "development",
        "PENSION_CERT_SMS_GATEWAY": "http",
        "PENSION_CERT_SMS_HTTP_URL": provider.url,
        "PENSION_CERT_SMS_BATCH_SIZE": "20",
        "PENSION_CERT_SMS_RATE_PER_SECOND": "0",
        "PENSION_CERT_SMS_HTTP_TIMEOUT_SECONDS": "60",
    }


def _send_outbox(now: str) -> list[str]:
    return [CLI, "send-outbox", "--lane", "bulk", "--once", "--json", "--now", now]


def test_a_sender_killed_mid_batch_is_finished_by_another_each_message_once(
    session: Session, database_url: str
) -> None:
    queue_reminders(session, 120, now=NOW)
    state = ProviderState(hold_batches={3})  # the third batch's answer never comes: the sender dies waiting
    with FakeProvider(state) as provider:
        env = _env(database_url, provider)
        proc = subprocess.Popen(
            _send_outbox(NOW.isoformat()), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while state.batches < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=30)
        assert state.batches == 3, proc.stderr.read() if proc.stderr else ""
        assert statuses(session) == {"sent": 40, "sending": 20, "pending": 60}  # the lease holds batch 3
        state.release.set()

        later = (NOW + timedelta(minutes=10)).isoformat()  # after the lease ended
        done = subprocess.run(_send_outbox(later), env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert statuses(session) == {"sent": 120}
    assert len(state.accepted) == 120 and set(state.submissions.values()) == {1}  # each id reached it once


def test_a_sender_dying_after_the_provider_accepted_is_not_delivered_twice(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    queue_reminders(session, 30, now=NOW)
    cfg = sender.SenderConfig.from_settings(settings)
    with FakeProvider() as provider:
        gateways = {"sms": HttpBatchGateway(url=provider.url)}
        with session_factory.begin() as s:  # claimed and committed…
            claimed = outbox.claim(
                session=s, lane="bulk", now=NOW, limit=100, lease_seconds=cfg.lease_seconds, worker="dead"
            )
        outbox.deliver(gateways=gateways, claimed=claimed)  # …handed over, then the process died before recording
        assert len(provider.state.accepted) == 30 and statuses(session) == {"sending": 30}
        later = NOW + timedelta(seconds=cfg.lease_seconds + 1)
        got = sender.drain(session_factory=session_factory, gateways=gateways, now=lambda: later, cfg=cfg)
    assert got.sent == 30 and statuses(session) == {"sent": 30}
    # At-least-once hand-off, once-only delivery: the provider dropped the repeats by our message id.
    assert len(provider.state.accepted) == 30 and set(provider.state.submissions.values()) == {2}


def test_two_senders_draining_together_never_post_a_message_twice(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    queue_reminders(session, 400, now=NOW)
    cfg = sender.SenderConfig(batch_limit=25)
    errors: list[BaseException] = []
    with FakeProvider() as provider:

        def work() -> None:
            try:
                gw = {"sms": HttpBatchGateway(url=provider.url, batch_size=25)}
                sender.drain(session_factory=session_factory, gateways=gw, now=lambda: NOW, cfg=cfg)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert statuses(session) == {"sent": 400}
    assert len(provider.state.accepted) == 400 and set(provider.state.submissions.values()) == {1}
