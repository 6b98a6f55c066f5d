"""What the scheduler calls in the messaging domain: the outbox sender."""

from __future__ import annotations

from core.jobs import SweepContext
from messaging import outbox


def send_outbox(ctx: SweepContext) -> dict[str, int]:
    """Hand due outbox messages to the gateway."""
    s = ctx.settings
    counts = outbox.send_pending(
        session=ctx.session,
        gateway=outbox.make_gateway(s),
        now=ctx.now,
        tz=s.timezone,
        quiet_start=s.sms_quiet_start_hour,
        quiet_end=s.sms_quiet_end_hour,
        max_attempts=s.sms_max_attempts,
    )
    return {f"outbox_{k}": v for k, v in counts.items()}
