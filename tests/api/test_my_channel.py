"""The pensioner chooses how messages reach them (GET/PUT /me/preferred-channel): offered channels only, audited."""

from __future__ import annotations

from sqlalchemy import select

from core.settings import Settings
from models import AuditEvent, Pensioner
from tests import factories as f

URL = "/api/v1/me/preferred-channel"


def _events(session, pensioner_id: int) -> list[tuple[str, str | None, dict | None]]:  # type: ignore[no-untyped-def]
    session.expire_all()
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "pensioner.preferred_channel_changed", AuditEvent.target_id == str(pensioner_id))
        .order_by(AuditEvent.id)
    ).all()
    out = [(e.actor_type, e.actor_id, e.detail) for e in rows]
    session.commit()
    return out


def test_only_sms_is_offered_without_other_gateways(client, session) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    hdr = f.pensioner_token(client, session, p)
    got = client.get(URL, headers=hdr)
    assert got.status_code == 200, got.text
    assert got.json() == {
        "channel": "sms",
        "sends_by": "sms",
        "available": [{"channel": "sms", "name": "手机短信", "name_en": "Text message (SMS)"}],
    }
    refused = client.put(URL, json={"channel": "wechat"}, headers=hdr)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "channel_unavailable" and body["detail"] == {"available": ["sms"]}
    assert "短信" in body["message"] and "SMS" in body["message_en"]
    assert client.put(URL, json={"channel": "sms"}, headers=hdr).status_code == 200  # no change: not audited
    assert _events(session, p.id) == []


def test_the_pensioner_chooses_an_offered_channel_audited(client, session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    settings.push_gateway = "log"
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    hdr = f.pensioner_token(client, session, p)
    offered = [o["channel"] for o in client.get(URL, headers=hdr).json()["available"]]
    assert offered == ["sms", "push"]
    chosen = client.put(URL, json={"channel": "push"}, headers=hdr)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["channel"] == "push" and chosen.json()["sends_by"] == "push"
    again = client.put(URL, json={"channel": "push"}, headers=hdr)  # a retried PUT: the same answer, nothing more
    assert again.status_code == 200 and again.json() == chosen.json()
    unknown = client.put(URL, json={"channel": "fax"}, headers=hdr)
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_channel"
    assert unknown.json()["message"] and unknown.json()["message_en"]
    assert client.put(URL, json={"channel": "wechat"}, headers=hdr).json()["code"] == "channel_unavailable"
    assert client.get(URL, headers=hdr).json()["channel"] == "push"
    session.expire_all()
    assert session.get(Pensioner, p.id).preferred_channel == "push"  # type: ignore[union-attr]
    session.commit()
    assert _events(session, p.id) == [("pensioner", str(p.id), {"from": "sms", "to": "push"})]


def test_a_family_helper_choice_records_the_helper(client, session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    settings.wechat_gateway = "log"
    f.seed_regions(session)
    p = f.pensioner(session, family_phone="13911112222")
    session.commit()
    hdr = f.pensioner_token(client, session, p, helper=True)
    assert client.put(URL, json={"channel": "wechat"}, headers=hdr).status_code == 200
    assert _events(session, p.id) == [
        ("family_helper", str(p.id), {"from": "sms", "to": "wechat", "helper_phone": "13911112222"})
    ]


def test_a_stored_channel_no_longer_offered_sends_by_sms(client, session) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    p = f.pensioner(session, preferred_channel="wechat")  # e.g. from the roster, before WeChat is switched on
    session.commit()
    got = client.get(URL, headers=f.pensioner_token(client, session, p)).json()
    assert got["channel"] == "wechat" and got["sends_by"] == "sms"
    assert [o["channel"] for o in got["available"]] == ["sms"]


def test_staff_tokens_cannot_use_it(client, session) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    clerk = f.staff(session, role="counter")
    session.commit()
    resp = client.get(URL, headers=f.staff_token(client, clerk))
    assert resp.status_code == 401 and resp.json()["code"] == "pensioner_required"
