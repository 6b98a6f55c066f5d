"""How messages reach a pensioner: the preferred channel, chosen by them in the app or by staff at their request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core import audit
from core.settings import Settings
from messaging.gateways import available_channels
from models import Pensioner
from models.enums import Channel
from registry.errors import ChannelUnavailable, InvalidChannel

# What each channel is called where a person chooses it: (Chinese, English).
NAMES: dict[str, tuple[str, str]] = {
    Channel.SMS.value: ("手机短信", "Text message (SMS)"),
    Channel.PUSH.value: ("手机App通知", "App notification"),
    Channel.WECHAT.value: ("微信消息", "WeChat message"),
}


@dataclass(frozen=True)
class Choice:
    """The stored preference, the channel messages go by now (SMS when that one is not offered), the offered ones."""

    channel: str
    sends_by: str
    available: list[str]


def choice(*, settings: Settings, pensioner: Pensioner) -> Choice:
    """The pensioner's channel and the ones this deployment offers (SMS always, the fallback)."""
    offered = available_channels(settings)
    stored = pensioner.preferred_channel
    return Choice(channel=stored, sends_by=stored if stored in offered else Channel.SMS.value, available=offered)


def set_preferred_channel(
    *,
    session: Session,
    settings: Settings,
    pensioner: Pensioner,
    channel: str,
    actor_type: str,
    actor_id: int | None,
    now: datetime,
    helper_phone: str | None = None,
) -> Pensioner:
    """Change how messages reach the pensioner to an offered channel; audited with before and after (a no-op is not)."""
    if channel not in {c.value for c in Channel}:
        raise InvalidChannel()
    offered = available_channels(settings)
    if channel not in offered:
        raise ChannelUnavailable(available=offered)
    if pensioner.preferred_channel == channel:
        return pensioner
    detail: dict[str, str] = {"from": pensioner.preferred_channel, "to": channel}
    if helper_phone:
        detail["helper_phone"] = helper_phone
    audit.record(
        session=session,
        actor_type=actor_type,
        actor_id=actor_id,
        action="pensioner.preferred_channel_changed",
        target_type="pensioner",
        target_id=pensioner.id,
        detail=detail,
    )
    pensioner.preferred_channel = channel
    pensioner.updated_at = now
    session.flush()
    return pensioner
