"""Staff login, pensioner SMS-code login, refresh, and rate limits."""

from datetime import timedelta

from sqlalchemy import func, select

from core.security import create_token
from models import Notification, OtpCode
from tests import factories as f


def test_staff_login_and_bad_password(client, session) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="admin")
    session.commit()
    resp = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": "wrong-password"})
    assert resp.status_code == 401 and resp.json()["code"] == "bad_credentials"
    assert resp.json()["message"] == "用户名或密码错误。"
    resp = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD})
    assert resp.status_code == 200
    assert resp.json()["token_type"] == "bearer" and resp.json()["access_token"]


def test_staff_login_rate_limited_per_account(client, session, settings) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="admin")
    session.commit()
    settings.login_rate_per_account = 3
    codes = [
        client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": "nope-nope"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # Even the right password is refused while the account is limited.
    resp = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD})
    assert resp.status_code == 429 and resp.json()["code"] == "rate_limited"


def test_token_expires_with_the_clock(client, session, clock) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="admin")
    session.commit()
    hdr = f.staff_token(client, user)
    assert client.get("/api/v1/pensioners", headers=hdr).status_code == 200
    clock.now += timedelta(minutes=16)
    resp = client.get("/api/v1/pensioners", headers=hdr)
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"


def test_refresh_rotates_and_old_refresh_token_is_dead(client, session, clock) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="admin")
    session.commit()
    tokens = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD}).json()
    clock.now += timedelta(minutes=20)
    resp = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 200
    new = resp.json()
    assert (
        client.get("/api/v1/pensioners", headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 200
    )
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    # An access token is not a refresh token.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": new["access_token"]}).status_code == 401


def test_pensioner_otp_login_single_use_and_expiry(client, session, clock) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    hdr = f.pensioner_token(client, session, p)
    me = client.get("/api/v1/me", headers=hdr)
    assert me.status_code == 200 and me.json()["id"] == p.id
    assert me.json()["national_id_masked"].startswith(p.national_id[:6]) and "*" in me.json()["national_id_masked"]
    # The code just used cannot be used again.
    body = session.scalars(select(Notification.body_zh).where(Notification.kind == "otp")).first()
    session.commit()
    code = body.split("验证码是")[1][:6]
    resp = client.post("/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": code})
    assert resp.status_code == 401 and resp.json()["code"] == "bad_otp"
    # A fresh code expires after the TTL.
    client.post("/api/v1/auth/otp", json={"national_id": p.national_id})
    body = session.scalars(
        select(Notification.body_zh).where(Notification.kind == "otp").order_by(Notification.id.desc())
    ).first()
    session.commit()
    clock.now += timedelta(minutes=6)
    resp = client.post(
        "/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": body.split("验证码是")[1][:6]}
    )
    assert resp.status_code == 401


def test_otp_wrong_codes_back_off_but_do_not_kill_the_code(client, session, settings, clock) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    settings.otp_max_attempts = 3
    client.post("/api/v1/auth/otp", json={"national_id": p.national_id})
    body = session.scalars(select(Notification.body_zh).where(Notification.kind == "otp")).first()
    session.commit()
    right = body.split("验证码是")[1][:6]
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert (
            client.post("/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": wrong}).status_code
            == 401
        )
    assert session.scalar(select(OtpCode.attempts)) == 3  # recorded on the live code, which stays live
    session.commit()
    # Past the allowance, guessing on this ID waits (growing); the right code still works afterwards.
    refused = client.post("/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": right})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    clock.now += timedelta(seconds=60)
    assert (
        client.post("/api/v1/auth/pensioner-token", json={"national_id": p.national_id, "code": right}).status_code
        == 200
    )


def test_otp_to_family_phone_and_unknown_id(client, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session, family_phone="13911112222")
    session.commit()
    resp = client.post("/api/v1/auth/otp", json={"national_id": p.national_id, "to_family_phone": True})
    assert resp.status_code == 202 and "masked_phone" not in resp.json()
    assert session.scalar(select(Notification.phone).where(Notification.kind == "otp")) == "13911112222"
    session.commit()
    unknown = client.post("/api/v1/auth/otp", json={"national_id": "110105194912310021"})
    assert unknown.status_code == 202 and unknown.json() == resp.json()
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_pensioner_token_cannot_call_staff_endpoints(client, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    hdr = f.pensioner_token(client, session, p)
    resp = client.get("/api/v1/pensioners", headers=hdr)
    assert resp.status_code == 401 and resp.json()["code"] == "staff_required"


def test_a_signed_token_with_a_huge_subject_is_refused_not_a_500(client, session, settings, clock) -> None:
    f.seed_regions(session)
    session.commit()
    for subject_type, path in (("staff", "/api/v1/pensioners"), ("pensioner", "/api/v1/me")):
        for subject in (10**22, 2**31, 0):
            token = create_token(
                secret=settings.secret_key,
                subject_type=subject_type,
                subject_id=subject,
                role="admin" if subject_type == "staff" else None,
                now=clock.now,
                lifetime=timedelta(minutes=5),
            )
            resp = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 401, (subject_type, subject, resp.text)
            assert resp.json()["code"] in {"invalid_token", "account_disabled", "not_authenticated"}
    refresh = create_token(
        secret=settings.secret_key,
        subject_type="staff",
        subject_id=10**22,
        role="admin",
        now=clock.now,
        lifetime=timedelta(days=1),
        token_type="refresh",
    )
    resp = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"


def test_reusing_a_rotated_refresh_token_revokes_the_tokens_issued_after_it(client, session, clock) -> None:
    f.seed_regions(session)
    user = f.staff(session, role="admin")
    session.commit()
    first = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD}).json()
    other = client.post("/api/v1/auth/staff-token", data={"username": user.username, "password": f.PASSWORD}).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    third = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).json()
    bearer = {"Authorization": f"Bearer {third['access_token']}"}
    assert client.get("/api/v1/pensioners", headers=bearer).status_code == 200
    # The first refresh token, already rotated, comes back (stolen copy or replay): the family is revoked.
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "invalid_token"
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/pensioners", headers=bearer).status_code == 401
    # Another login of the same person (another family) is untouched.
    assert (
        client.get("/api/v1/pensioners", headers={"Authorization": f"Bearer {other['access_token']}"}).status_code
        == 200
    )
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200
