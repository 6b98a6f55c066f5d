"""A second channel seam: app push / WeChat by the pensioner's preferred channel, SMS the fallback (item 6)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certification import seasons
from core.settings import Settings
from messaging import sender
from messaging.gateways import RecordingGateway, make_gateways
from models import Notification
from tests import factories
from tests.messaging.helpers import Provider
from tests.scheduler.helpers import at, run


def test_reminders_go_by_the_preferred_channel_and_fall_back_to_sms(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    factories.seed_regions(session)
    seasons.create_season(session=session, settings=settings, year=2026)
    young = date(1960, 1, 1)  # no family copies
    by_push = factories.pensioner(session, birth=young, phone="13800000011", preferred_channel="push")
    no_app = factories.pensioner(session, birth=young, phone="13800000012", preferred_channel="push")
    by_wechat = factories.pensioner(session, birth=young, phone="13800000013", preferred_channel="wechat")
    by_sms = factories.pensioner(session, birth=young, phone="13800000014")
    session.commit()
    assert by_sms.preferred_channel == "sms"  # the default
    run(session_factory, settings, at(2026, 4, 1), "reminders")

    push = RecordingGateway(channel="push", refuse={no_app.id})  # no_app never installed the app
    sms = Provider()
    cfg = sender.SenderConfig.from_settings(settings)
    got = sender.drain(
        session_factory=session_factory,
        gateways={"sms": sms.gateway(), "push": push},
        now=lambda: at(2026, 4, 1),
        cfg=cfg,
    )
    assert got.sent == 4
    assert [m.pensioner_id for m in push.sent] == [by_push.id]
    rows = {n.pensioner_id: n for n in session.scalars(select(Notification))}
    session.commit()
    assert rows[by_push.id].channel == "push" and rows[by_push.id].provider_message_id == f"push-{rows[by_push.id].id}"
    assert sorted(sms.ids) == sorted(str(rows[p.id].id) for p in (no_app, by_wechat, by_sms))
    assert rows[no_app.id].channel == "sms" and "push: push_unavailable; sent by sms" in (
        rows[no_app.id].last_error or ""
    )
    assert rows[by_wechat.id].channel == "sms" and "wechat: not available" in (rows[by_wechat.id].last_error or "")
    assert all(n.status == "sent" for n in rows.values())


def test_the_development_channels_only_record(settings: Settings) -> None:
    settings.push_gateway = "log"
    settings.wechat_gateway = "log"
    gateways = make_gateways(settings)
    assert sorted(gateways) == ["push", "sms", "wechat"]
    assert isinstance(gateways["wechat"], RecordingGateway) and gateways["wechat"].channel == "wechat"
