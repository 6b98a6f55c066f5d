"""The pensioner app's files and headers, the API details it relies on, /docs offline and the OpenAPI enums."""

from __future__ import annotations

import gzip
import re

from sqlalchemy import select

from certification import seasons as season_service
from certification import service as certification_service
from models import RefreshToken
from tests import factories as f


def test_app_is_served_with_a_strict_csp_and_compressed(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/app/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "养老金资格认证" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
    total = 0
    for name in ("main.js", "certify.js", "api.js", "camera.js", "dom.js", "i18n.js", "speech.js", "app.css"):
        raw = client.get(f"/app/{name}", headers={"Accept-Encoding": "gzip"})
        assert raw.status_code == 200, name
        total += len(gzip.compress(raw.content))
        assert not re.search(r"https?://(?!www\.w3\.org)", raw.text), name  # no external request
    assert total < 200_000
    assert client.get("/app/../core/settings.py").status_code == 404
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/"


def test_docs_work_offline(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/docs")
    assert page.status_code == 200
    assert re.findall(r"(?:src|href)=\"(https?:[^\"]+)\"", page.text) == []
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/static/init.js").status_code == 200


def test_openapi_publishes_enums_and_the_required_idempotency_key(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["ChallengeOut"]["properties"]["actions"]["items"]["enum"]) == {
        "blink",
        "open_mouth",
        "turn_left",
        "turn_right",
    }
    assert "certified" in schemas["AppDecision"]["enum"]
    reasons = schemas["AppCertificationOut"]["properties"]["reasons"]["items"]["enum"]
    assert {"cohort_too_small", "replayed_frames", "too_dark", "action_missing:blink"} <= set(reasons)
    assert "deceased" in schemas["VisitOutcome"]["enum"]
    for path, method in (("/api/v1/me/certifications", "post"), ("/api/v1/home-visits/{task_id}/visits", "post")):
        params = {p["name"]: p for p in spec["paths"][path][method]["parameters"]}
        assert params["Idempotency-Key"]["required"] is True, path


def test_helper_login_home_visit_status_and_receipt_check(client, session, settings) -> None:  # type: ignore[no-untyped-def]
    f.seed_regions(session)
    p = f.pensioner(session, family_phone="13900000009")
    season_service.create_season(session=session, settings=settings, year=2026)
    session.commit()
    resp = client.post("/api/v1/auth/otp", json={"national_id": p.national_id, "to_family_phone": True})
    assert resp.status_code == 202
    hdr = f.pensioner_token(client, session, p)  # asks again for the own phone: a pensioner's own login
    me = client.get("/api/v1/me", headers=hdr).json()
    assert me["acting"] == "self" and me["helper_phone_masked"] is None
    assert client.get("/api/v1/me/home-visit-request", headers=hdr).json()["requested"] is False
    assert client.get("/api/v1/me/certification/receipt", headers=hdr).json()["code"] == "no_receipt"
    cert = certification_service.record_certification(
        session=session, settings=settings, pensioner_id=p.id, channel="counter", now=f.FIXED_NOW
    )
    session.commit()
    receipt = client.get("/api/v1/me/certification/receipt", headers=hdr).json()
    assert receipt["certification_id"] == cert.id and receipt["verification_url"].endswith(receipt["verification_code"])
    ok = client.get(f"/api/v1/receipts/{cert.id}", params={"code": receipt["verification_code"]}).json()
    assert ok["valid"] is True and ok["name_masked"] == "王*英" and ok["channel"] == "counter"
    bad = client.get(f"/api/v1/receipts/{cert.id}", params={"code": "AAAAA-AAAAA"}).json()
    assert bad == {**bad, "valid": False, "certification_id": None}
    session.expire_all()
    assert session.scalars(select(RefreshToken.helper_phone)).all() == [None]
    session.commit()
