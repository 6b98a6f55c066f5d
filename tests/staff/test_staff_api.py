"""API behind the staff pages: counter search, the pensioner card, the staff list, why people fail, no_match advice."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from faces import service as face_service
from models import AuditEvent, BiometricConsent, Certification, FaceTemplate, VerificationAttempt
from tests import factories as f
from tests.supervisor.conftest import City


def _ids(client: TestClient, hdr: dict[str, str], q: str) -> set[int]:
    resp = client.get("/api/v1/pensioners", params={"q": q, "limit": 500}, headers=hdr)
    assert resp.status_code == 200, resp.text
    return {p["id"] for p in resp.json()["items"]}


def test_counter_search_by_partial_id_phone_and_name_within_the_jurisdiction(client, session, city: City) -> None:
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    other = f.staff(session, role="counter", region=f.WENDENG)
    p = f.pensioner(session, name="刘查找", phone="13512345678", family_phone="13698765432")
    session.commit()
    hdr, wd = f.staff_token(client, clerk), f.staff_token(client, other)
    nid = p.national_id
    assert _ids(client, hdr, nid) == {p.id}  # the full ID, as before
    assert p.id in _ids(client, hdr, nid[:10])  # leading digits: region and birth date
    assert _ids(client, hdr, nid[-6:]) == {p.id}  # the last digits read off the ID card
    assert _ids(client, hdr, "13512345678") == {p.id}  # own phone
    assert _ids(client, hdr, "136 9876 5432") == {p.id}  # family phone, typed with spaces
    assert _ids(client, hdr, "刘查") == {p.id}
    assert _ids(client, hdr, "12") == set()  # too short to be a partial ID
    assert _ids(client, wd, nid[-6:]) == set() and _ids(client, wd, "13512345678") == set()


def test_the_card_shows_certified_this_season_face_enrolled_checks_and_task(client, session, city: City) -> None:
    clerk = f.staff(session, role="counter", region=f.CITY)
    session.add(FaceTemplate(pensioner_id=city.plain, kind="anchor", source="counter", encoding=b"x", key_id="plain"))
    session.add(BiometricConsent(pensioner_id=city.plain, method="counter_signature", recorded_by_staff_id=clerk.id))
    session.add(Certification(pensioner_id=city.plain, season_year=2026, channel="counter", certified_at=city_now()))
    session.commit()
    hdr = f.staff_token(client, clerk)
    card = client.get(f"/api/v1/pensioners/{city.plain}/card", headers=hdr).json()
    assert card["status"]["state"] == "certified" and card["status"]["channel"] == "counter"
    assert card["face"]["enrolled"] is True and card["face"]["enrolled_at"] is not None
    assert card["face"]["consent_method"] == "counter_signature"
    old = client.get(f"/api/v1/pensioners/{city.old_failed}/card", headers=hdr).json()
    assert old["status"]["state"] == "pending" and old["status"]["days_left"] == 10
    assert old["face"]["enrolled"] is False
    assert [c["decision"] for c in old["checks"]] == ["no_match", "no_match"]
    assert old["task"]["reason"] == "age_80" and old["task"]["status"] == "open"


def city_now() -> datetime:
    return datetime(2026, 6, 19, 3, tzinfo=UTC)


def test_card_scope_counter_city_wide_supervisor_own_district(client, session, city: City) -> None:
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    sup = f.staff(session, role="supervisor", region=f.HUANCUI)
    session.commit()
    assert client.get(
        f"/api/v1/pensioners/{city.wendeng_pending}/card", headers=f.staff_token(client, clerk)
    ).is_success
    assert (
        client.get(f"/api/v1/pensioners/{city.wendeng_pending}/card", headers=f.staff_token(client, sup)).status_code
        == 404
    )


def test_counter_clerk_reads_the_face_checks_they_made(client, session, city: City) -> None:
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    session.commit()
    mine = f.counter_face_check(session, city.plain, staff_id=clerk.id)
    session.commit()
    resp = client.get(f"/api/v1/pensioners/{city.plain}/face-verifications", headers=f.staff_token(client, clerk))
    assert resp.status_code == 200, resp.text
    assert [r["id"] for r in resp.json()] == [mine]


def test_no_match_has_advice() -> None:
    advice = face_service.advice_for(["no_cohort", "score_above_threshold"])
    assert [a["reason"] for a in advice] == ["no_match"] and "窗口" in advice[0]["zh"] and advice[0]["en"]
    assert face_service.advice_for(["borderline_score"]) == []


def test_staff_list_for_the_reassign_picker_and_who_am_i(client, session, city: City) -> None:
    sup = f.staff(session, role="supervisor", region=f.HUANCUI, username="sup_pick")
    mine = f.staff(session, role="field", region=f.HUANCUI_COMMUNITY, username="field_here")
    f.staff(session, role="field", region=f.WENDENG_COMMUNITY, username="field_there")
    f.staff(session, role="counter", region=f.HUANCUI, username="clerk_here")
    session.commit()
    hdr = f.staff_token(client, sup)
    listed = client.get("/api/v1/staff", params={"role": "field"}, headers=hdr).json()
    assert [(u["id"], u["username"], u["region_name"]) for u in listed] == [(mine.id, "field_here", "环翠楼东山社区")]
    everyone = {u["username"] for u in client.get("/api/v1/staff", headers=hdr).json()}
    assert everyone == {"sup_pick", "field_here", "clerk_here"}
    me = client.get("/api/v1/staff/me", headers=hdr).json()
    assert (me["username"], me["role"], me["region_code"], me["region_level"]) == (
        "sup_pick",
        "supervisor",
        f.HUANCUI,
        "district",
    )


def _attempt(session, pid: int, day: int, decision: str, reasons: list[str]) -> None:  # type: ignore[no-untyped-def]
    session.add(
        VerificationAttempt(
            pensioner_id=pid,
            at=datetime(2026, 6, day, 2, tzinfo=UTC),
            channel="app",
            season_year=2026,
            decision=decision,
            reasons=reasons,
        )
    )


def test_why_people_fail_by_age_band_reason_region_and_week(client, session, city: City) -> None:
    sup = f.staff(session, role="supervisor", region=f.CITY)
    young = f.pensioner(session, birth=date(1962, 1, 1)).id  # 64
    ninety = f.pensioner(session, birth=date(1935, 1, 1)).id  # 91
    wendeng = f.pensioner(session, region=f.WENDENG_COMMUNITY, birth=date(1950, 1, 1)).id  # 76
    _attempt(session, young, 2, "retry", ["too_dark"])
    _attempt(session, young, 3, "rejected", ["too_blurred"])
    _attempt(session, ninety, 9, "liveness_failed", ["action_missing:blink"])
    _attempt(session, ninety, 9, "presentation_attack", ["too_dark"])
    _attempt(session, ninety, 16, "retry", ["head_turned"])
    _attempt(session, wendeng, 16, "match", [])  # a success is not a failure
    _attempt(session, wendeng, 17, "no_match", ["score_above_threshold"])
    session.add(
        VerificationAttempt(pensioner_id=young, at=city_now(), channel="counter", decision="no_match", reasons=[])
    )
    session.commit()
    hdr = f.staff_token(client, sup)
    body = client.get("/api/v1/risk/failures", headers=hdr).json()
    cells = {(c["band"], c["reason"]): c["attempts"] for c in body["cells"]}
    # city.old_failed (born 1941, 85) has two no_match app attempts from the fixture
    assert cells == {
        ("60_69", "too_dark"): 1,
        ("60_69", "too_blurred"): 1,
        ("90_plus", "liveness"): 1,
        ("90_plus", "presentation_attack"): 1,
        ("90_plus", "head_turned"): 1,
        ("70_79", "no_match"): 1,
        ("80_89", "no_match"): 2,
    }
    assert body["total"] == 8
    regions = {r["region"]: r for r in body["regions"]}
    assert regions[f.WENDENG]["total"] == 1 and regions[f.WENDENG]["by_reason"]["no_match"] == 1
    assert regions[f.HUANCUI]["total"] == 7
    weeks = {w["week_start"]: w["total"] for w in body["weeks"]}
    # Weeks count from the season's opening day (1 April); attempts fall in Beijing-local days.
    assert (weeks["2026-05-27"], weeks["2026-06-03"], weeks["2026-06-10"], weeks["2026-06-17"]) == (1, 3, 3, 1)
    assert next(iter(weeks)) == "2026-04-01" and sum(weeks.values()) == 8 and list(weeks) == sorted(weeks)
    district = f.staff(session, role="supervisor", region=f.WENDENG)
    session.commit()
    wd = client.get("/api/v1/risk/failures", headers=f.staff_token(client, district)).json()
    assert wd["total"] == 1
    assert (
        client.get(
            "/api/v1/risk/failures", params={"region": f.HUANCUI}, headers=f.staff_token(client, district)
        ).status_code
        == 404
    )


def test_counter_and_supervisor_change_the_preferred_channel_audited(client, session, settings, city: City) -> None:
    """Counter clerks anywhere in the city (as the card they see it on), supervisors in their jurisdiction."""
    settings.push_gateway = settings.wechat_gateway = "log"
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    supervisor = f.staff(session, role="supervisor", region=f.HUANCUI)
    other_clerk = f.staff(session, role="counter", region=f.WENDENG)
    other_supervisor = f.staff(session, role="supervisor", region=f.WENDENG)
    field = f.staff(session, role="field", region=f.HUANCUI)
    p = f.pensioner(session, name="刘渠道", phone="13512340001")
    session.commit()
    url = f"/api/v1/pensioners/{p.id}/preferred-channel"
    hdr = f.staff_token(client, clerk)
    card = client.get(f"/api/v1/pensioners/{p.id}/card", headers=hdr).json()
    assert card["preferred_channel"] == "sms" and card["channels_available"] == ["sms", "push", "wechat"]
    done = client.put(url, json={"channel": "wechat"}, headers=hdr)
    assert done.status_code == 200 and done.json()["preferred_channel"] == "wechat", done.text
    card = client.get(f"/api/v1/pensioners/{p.id}/card", headers=hdr).json()
    assert card["preferred_channel"] == "wechat" and card["phone"] == "13512340001"
    back = client.put(url, json={"channel": "sms"}, headers=f.staff_token(client, supervisor))
    assert back.status_code == 200 and back.json()["preferred_channel"] == "sms"
    served = client.put(url, json={"channel": "push"}, headers=f.staff_token(client, other_clerk))
    assert served.status_code == 200 and served.json()["preferred_channel"] == "push", served.text
    assert client.put(url, json={"channel": "sms"}, headers=f.staff_token(client, other_supervisor)).status_code == 404
    assert client.put(url, json={"channel": "sms"}, headers=f.staff_token(client, field)).status_code == 403
    unknown = client.put(url, json={"channel": "fax"}, headers=hdr)
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_channel" and unknown.json()["message_en"]
    settings.wechat_gateway = "off"
    off = client.put(url, json={"channel": "wechat"}, headers=hdr)
    assert off.status_code == 422 and off.json()["code"] == "channel_unavailable", off.text
    session.expire_all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "pensioner.preferred_channel_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_type, e.actor_id, e.detail) for e in events] == [
        ("staff", str(clerk.id), {"from": "sms", "to": "wechat"}),
        ("staff", str(supervisor.id), {"from": "wechat", "to": "sms"}),
        ("staff", str(other_clerk.id), {"from": "sms", "to": "push"}),
    ]
