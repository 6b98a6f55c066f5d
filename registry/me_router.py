"""The pensioner's own registry endpoints: how the service's messages reach them."""

from __future__ import annotations

from fastapi import APIRouter

from core.clock import NowDep
from core.deps import CurrentLogin, SessionDep, SettingsDep
from core.settings import Settings
from models import Pensioner
from registry import channels as channel_service
from registry.schemas import ChannelOptionOut, MyChannelOut, PreferredChannelIn

router = APIRouter(prefix="/me", tags=["pensioner app"])


def _out(settings: Settings, pensioner: Pensioner) -> MyChannelOut:
    got = channel_service.choice(settings=settings, pensioner=pensioner)
    options = [
        ChannelOptionOut(channel=c, name=channel_service.NAMES[c][0], name_en=channel_service.NAMES[c][1])
        for c in got.available
    ]
    return MyChannelOut(channel=got.channel, sends_by=got.sends_by, available=options)


@router.get("/preferred-channel", response_model=MyChannelOut)
def my_channel(login: CurrentLogin, settings: SettingsDep) -> MyChannelOut:
    """How reminders and notices reach me, and the channels offered here (SMS always; login codes are always SMS)."""
    return _out(settings, login.pensioner)


@router.put("/preferred-channel", response_model=MyChannelOut)
def choose_channel(
    login: CurrentLogin, session: SessionDep, settings: SettingsDep, body: PreferredChannelIn, now: NowDep
) -> MyChannelOut:
    """Choose an offered channel (a PUT of the whole value: a retry changes nothing more); audited, with the helper."""
    pensioner = channel_service.set_preferred_channel(
        session=session,
        settings=settings,
        pensioner=login.pensioner,
        channel=body.channel,
        actor_type="family_helper" if login.helper_phone else "pensioner",
        actor_id=login.pensioner.id,
        now=now,
        helper_phone=login.helper_phone,
    )
    return _out(settings, pensioner)
