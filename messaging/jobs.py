"""What the scheduler calls in the messaging domain: the outbox sender (fast lane first) and its purge."""

from __future__ import annotations

from datetime import timedelta

from core import audit
from core.jobs import SweepContext
from messaging import outbox, sender
from messaging.gateways import make_gateways
from models.engine import make_session_factory


def send_outbox(ctx: SweepContext) -> dict[str, int]:
    """Hand due outbox messages to the gateway."""
    s = ctx.settings
    counts = sender.drain(
        session_factory=make_session_factory(ctx.session.get_bind()),  # type: ignore[arg-type]  # own short transactions: claim, then record
        gateways=make_gateways(s),
        now=lambda: ctx.now,
        cfg=sender.SenderConfig.from_settings(s),
        budget_seconds=s.outbox_sweep_seconds,
    )
    return {f"outbox_{k}": v for k, v in counts.as_dict().items()}


def purge_outbox(ctx: SweepContext) -> dict[str, int]:
    """Redact login codes past their lifetime; delete done messages older than the outbox retention."""
    s, now = ctx.settings, ctx.now
    redacted = outbox.redact_expired_codes(session=ctx.session, before=now - timedelta(seconds=s.otp_ttl_seconds))
    purged = outbox.purge_old(
        session=ctx.session,
        before=now - timedelta(days=s.outbox_retention_days),
        keep_seasons_from=now.year - 1,
    )
    counts = {"login_codes_redacted": redacted, "outbox_purged": purged}
    if purged:
        audit.record(
            session=ctx.session,
            actor_type="system",
            actor_id=None,
            action="outbox.purged",
            target_type="system",
            target_id=None,
            detail=counts | {"retention_days": s.outbox_retention_days},
        )
    ctx.session.flush()
    return counts
