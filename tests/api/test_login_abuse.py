"""Abuse of the login routes from outside (issue 15 items 2, 3 and 7): nobody who merely knows a national ID
or a username can lock its owner out, registered IDs do not show, and every 429 says when to come back."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditEvent, Notification, Region, VerificationAttempt
from tests import factories as f

OTP = "/api/v1/auth/otp"
TOKEN = "/api/v1/auth/pensioner-token"
STAFF = "/api/v1/auth/staff-token"
VICTIM_DEVICE = {"X-Device-Id": "victim-phone-6f1c2a9e4b7d4e0c"}


def _from(app, address: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A client whose requests come from `address`."""
    return TestClient(app, client=(address, 50000))


def _codes(session, pensioner_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Codes texted to the pensioner, newest first."""
    session.commit()  # a read transaction opened by touching an expired object would hide the app's writes
    session.expire_all()
    bodies = session.scalars(
        select(Notification.body_zh)
        .where(Notification.pensioner_id == pensioner_id, Notification.kind == "otp")
        .order_by(Notification.id.desc())
    ).all()
    session.commit()
    return [m.group(1) for b in bodies if (m := re.search(r"验证码是(\d+)", b))]


def _wrong(right: str) -> str:
    return "000000" if right != "000000" else "111111"


def test_a_new_code_request_keeps_the_live_code(app, client, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    assert client.post(OTP, json={"national_id": p.national_id}, headers=VICTIM_DEVICE).status_code == 202
    first = _codes(session, p.id)[0]
    # Someone else asks for a code for the same ID: the victim's code still works.
    assert _from(app, "198.51.100.7").post(OTP, json={"national_id": p.national_id}).status_code == 202
    resp = client.post(TOKEN, json={"national_id": p.national_id, "code": first}, headers=VICTIM_DEVICE)
    assert resp.status_code == 200, resp.text


def test_only_the_three_newest_codes_are_live_and_a_login_ends_them_all(app, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    for i in range(4):
        assert _from(app, f"198.51.100.{i + 1}").post(OTP, json={"national_id": p.national_id}).status_code == 202
    newest, second, third, oldest = _codes(session, p.id)
    c = _from(app, "203.0.113.5")
    if oldest not in {newest, second, third}:
        assert c.post(TOKEN, json={"national_id": p.national_id, "code": oldest}).status_code == 401
    assert c.post(TOKEN, json={"national_id": p.national_id, "code": third}).status_code == 200
    for code in {newest, second} - {third}:
        assert c.post(TOKEN, json={"national_id": p.national_id, "code": code}).status_code == 401


def test_otp_requests_per_id_follow_the_setting_and_back_off_growing(app, session, settings, clock) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    settings.login_rate_per_account = 7  # the per-ID limit was hard-coded to 5
    for i in range(7):
        resp = _from(app, f"198.51.100.{i + 1}").post(OTP, json={"national_id": p.national_id})
        assert resp.status_code == 202, (i, resp.text)
    waits = []
    for i in range(4):
        refused = _from(app, f"192.0.2.{i + 1}").post(OTP, json={"national_id": p.national_id})
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        wait = int(refused.headers["Retry-After"])
        assert refused.json()["detail"]["retry_after_seconds"] == wait
        waits.append(wait)
        clock.now += timedelta(seconds=wait)
        assert _from(app, f"192.0.2.{i + 100}").post(OTP, json={"national_id": p.national_id}).status_code == 202
    assert waits == [60, 120, 240, 480]  # growing from PENSION_CERT_LOGIN_BACKOFF_SECONDS, not a 900 s wall
    assert len(_codes(session, p.id)) == 11


def test_otp_requests_are_limited_per_device_and_per_address(app, client, session, settings) -> None:
    f.seed_regions(session)
    people = [f.pensioner(session) for _ in range(4)]
    session.commit()
    settings.login_rate_per_account = 3
    device = {"X-Device-Id": "one-scripted-device-0001"}
    for i, p in enumerate(people[:3]):
        assert (
            _from(app, f"198.51.100.{i}").post(OTP, json={"national_id": p.national_id}, headers=device).status_code
            == 202
        )
    refused = _from(app, "198.51.100.99").post(OTP, json={"national_id": people[3].national_id}, headers=device)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    settings.login_rate_per_address = 2
    one = _from(app, "203.0.113.9")
    assert one.post(OTP, json={"national_id": people[3].national_id}).status_code == 202
    assert one.post(OTP, json={"national_id": "110105194912310021"}).status_code == 202  # unknown IDs count too
    refused = one.post(OTP, json={"national_id": people[2].national_id})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.post(OTP, json={"national_id": "11010519491231002"}, headers={"X-Device-Id": "x"}).status_code == 422


def test_wrong_guesses_from_anywhere_do_not_kill_the_victims_code(app, client, session, settings, clock) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    assert client.post(OTP, json={"national_id": p.national_id}, headers=VICTIM_DEVICE).status_code == 202
    right = _codes(session, p.id)[0]
    for i in range(settings.otp_max_attempts):
        resp = _from(app, f"198.51.100.{i}").post(TOKEN, json={"national_id": p.national_id, "code": _wrong(right)})
        assert resp.status_code == 401 and resp.json()["code"] == "bad_otp"
    refused = _from(app, "198.51.100.200").post(TOKEN, json={"national_id": p.national_id, "code": right})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 60  # guessing on the ID backs off
    # The device that asked for the code still logs in with it at once.
    resp = client.post(TOKEN, json={"national_id": p.national_id, "code": right}, headers=VICTIM_DEVICE)
    assert resp.status_code == 200, resp.text


def test_after_the_guess_back_off_the_code_still_works(app, client, session, settings, clock) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    settings.otp_max_attempts = 3
    assert client.post(OTP, json={"national_id": p.national_id}).status_code == 202
    right = _codes(session, p.id)[0]
    for i in range(3):
        assert (
            _from(app, f"198.51.100.{i}")
            .post(TOKEN, json={"national_id": p.national_id, "code": _wrong(right)})
            .status_code
            == 401
        )
    refused = client.post(TOKEN, json={"national_id": p.national_id, "code": right})
    assert refused.status_code == 429
    clock.now += timedelta(seconds=int(refused.headers["Retry-After"]))
    assert client.post(TOKEN, json={"national_id": p.national_id, "code": right}).status_code == 200


def test_wrong_guesses_are_limited_per_address_across_ids(app, session, settings) -> None:
    f.seed_regions(session)
    people = [f.pensioner(session) for _ in range(4)]
    session.commit()
    for p in people:
        assert _from(app, "198.51.100.1").post(OTP, json={"national_id": p.national_id}).status_code == 202
    settings.login_rate_per_address = 3
    guesser = _from(app, "203.0.113.66")
    for p in people[:3]:
        assert guesser.post(TOKEN, json={"national_id": p.national_id, "code": "000000"}).status_code in {401, 200}
    refused = guesser.post(TOKEN, json={"national_id": people[3].national_id, "code": _codes(session, people[3].id)[0]})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_device_that_logged_in_before_gets_a_code_while_the_id_is_flooded(app, client, session, settings) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    assert client.post(OTP, json={"national_id": p.national_id}, headers=VICTIM_DEVICE).status_code == 202
    code = _codes(session, p.id)[0]
    assert (
        client.post(TOKEN, json={"national_id": p.national_id, "code": code}, headers=VICTIM_DEVICE).status_code == 200
    )
    settings.login_rate_per_account = 3
    for i in range(3):
        _from(app, f"198.51.100.{i}").post(OTP, json={"national_id": p.national_id})
    assert _from(app, "198.51.100.50").post(OTP, json={"national_id": p.national_id}).status_code == 429
    for i in range(settings.otp_max_attempts):
        _from(app, f"192.0.2.{i}").post(TOKEN, json={"national_id": p.national_id, "code": "000000"})
    assert client.post(OTP, json={"national_id": p.national_id}, headers=VICTIM_DEVICE).status_code == 202
    code = _codes(session, p.id)[0]
    resp = client.post(TOKEN, json={"national_id": p.national_id, "code": code}, headers=VICTIM_DEVICE)
    assert resp.status_code == 200, resp.text


def test_counter_staff_reset_the_lock_of_an_id_audited(app, client, session, settings) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    clerk = f.staff(session, role="counter", region=f.HUANCUI)
    field = f.staff(session, role="field", region=f.HUANCUI)
    session.add(Region(code="370200000000", name="青岛市", level="city", parent_code=None))
    session.flush()
    elsewhere = f.staff(session, role="counter", region="370200000000")
    session.commit()
    settings.login_rate_per_account = 2
    settings.otp_max_attempts = 2
    for i in range(3):
        _from(app, f"198.51.100.{i}").post(OTP, json={"national_id": p.national_id})
    for i in range(3):
        _from(app, f"192.0.2.{i}").post(TOKEN, json={"national_id": p.national_id, "code": "000000"})
    assert client.post(OTP, json={"national_id": p.national_id}).status_code == 429
    url = f"/api/v1/auth/pensioners/{p.id}/login-unlock"
    body = {"verified_by": "counter_id_card", "note": "本人持身份证到柜台"}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=f.staff_token(client, field)).status_code == 403
    assert client.post(url, json={"verified_by": "guess"}, headers=f.staff_token(client, clerk)).status_code == 422
    resp = client.post(url, json=body, headers=f.staff_token(client, clerk))
    assert resp.status_code == 200, resp.text
    assert resp.json()["pensioner_id"] == p.id and resp.json()["cleared"] > 0
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "pensioner_login_unlocked")).one()
    assert event.actor_id == str(clerk.id) and event.target_id == str(p.id)
    assert event.detail is not None and event.detail["verified_by"] == "counter_id_card"
    session.commit()
    # The pensioner asks for a code at once, and the newest code works at once.
    assert client.post(OTP, json={"national_id": p.national_id}).status_code == 202
    resp = client.post(TOKEN, json={"national_id": p.national_id, "code": _codes(session, p.id)[0]})
    assert resp.status_code == 200, resp.text
    other = f.pensioner(session, region=f.WENDENG_COMMUNITY)
    session.commit()
    assert (
        client.post(
            f"/api/v1/auth/pensioners/{other.id}/login-unlock", json=body, headers=f.staff_token(client, elsewhere)
        ).status_code
        == 404
    )


def test_the_otp_answer_is_the_same_for_registered_and_unknown_ids(client, session, settings) -> None:
    f.seed_regions(session)
    p = f.pensioner(session, phone="17100008492", family_phone="13911112222")
    lone = f.pensioner(session, phone="17100008493", family_phone=None)
    session.commit()
    settings.otp_answer_min_ms = 150
    payloads = [
        {"national_id": p.national_id},
        {"national_id": p.national_id, "to_family_phone": True},
        {"national_id": lone.national_id, "to_family_phone": True},
        {"national_id": "110105194912310021"},  # valid, not registered
        {"national_id": "110105194912310021", "to_family_phone": True},
        {"national_id": "110105194912310022"},  # bad check digit
    ]
    answers = []
    for payload in payloads:
        started = time.perf_counter()
        answers.append(client.post(OTP, json=payload))
        assert time.perf_counter() - started >= 0.150  # none answers sooner (the timing itself: bench/)
    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1, [a.text for a in answers]
    assert "8492" not in answers[0].text and "2222" not in answers[1].text
    session.expire_all()
    phones = session.scalars(select(Notification.phone).order_by(Notification.id)).all()
    assert phones == ["17100008492", "13911112222", "17100008493"]


def test_wrong_passwords_from_many_addresses_do_not_lock_the_account(app, session, settings) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="counter", region=f.HUANCUI)
    session.commit()
    for i in range(settings.login_rate_per_account):
        resp = _from(app, f"198.51.100.{i}").post(STAFF, data={"username": user.username, "password": "wrong-one"})
        assert resp.status_code == 401
    resp = _from(app, "10.20.30.40").post(STAFF, data={"username": user.username, "password": f.PASSWORD})
    assert resp.status_code == 200, resp.text


def test_a_shared_office_address_is_not_limited_by_successful_logins(app, session, settings) -> None:
    f.seed_regions(session)
    users = [f.staff(session, role="counter", region=f.HUANCUI) for _ in range(3)]
    session.commit()
    settings.login_rate_per_address = 2
    office = _from(app, "10.1.1.1")
    for _ in range(2):
        for user in users:
            resp = office.post(STAFF, data={"username": user.username, "password": f.PASSWORD})
            assert resp.status_code == 200, resp.text


def test_password_failures_lock_the_account_and_address_pair_with_retry_after(app, session, settings) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="counter", region=f.HUANCUI)
    others = [f.staff(session, role="field", region=f.HUANCUI) for _ in range(3)]
    session.commit()
    settings.login_rate_per_account = 3
    here, there = _from(app, "198.51.100.1"), _from(app, "198.51.100.2")
    assert [
        here.post(STAFF, data={"username": user.username, "password": "x-wrong"}).status_code for _ in range(3)
    ] == [401] * 3
    refused = here.post(STAFF, data={"username": user.username, "password": f.PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 60
    assert there.post(STAFF, data={"username": user.username, "password": f.PASSWORD}).status_code == 200
    # Spraying passwords over accounts from one address is limited per address (failures only).
    settings.login_rate_per_address = 3
    sprayer = _from(app, "203.0.113.3")
    for other in others:
        assert sprayer.post(STAFF, data={"username": other.username, "password": "x-wrong"}).status_code == 401
    refused = sprayer.post(STAFF, data={"username": user.username, "password": "x-wrong"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_the_staff_page_login_and_the_face_lock_send_retry_after(client, session, settings, clock) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="supervisor", region=f.CITY)
    p = f.pensioner(session)
    session.commit()
    settings.login_rate_per_account = 1
    client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": "x-wrong"})
    refused = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    hdr = f.pensioner_token(client, session, p)
    settings.face_attempts_per_day = 2
    for _ in range(2):
        session.add(
            VerificationAttempt(pensioner_id=p.id, at=clock.now, channel="app", decision="liveness_failed", reasons=[])
        )
    session.commit()
    locked = client.post("/api/v1/me/liveness-challenges", headers=hdr)
    assert locked.status_code == 429 and locked.json()["code"] == "locked"
    # 10:00 in Beijing: the lock ends at local midnight, 14 hours later.
    assert int(locked.headers["Retry-After"]) == 14 * 3600
