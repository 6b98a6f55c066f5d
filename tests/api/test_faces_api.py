"""Enrolment and counter verification through the API, on real photographs."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, BiometricConsent, FaceTemplate, VerificationAttempt
from tests import factories as f
from tests.conftest import faces_dir

FACES = faces_dir()
pytestmark = pytest.mark.skipif(
    FACES is None, reason="real face photos not found (../shared/faces or PENSION_CERT_TEST_FACES)"
)


def photo(rel: str) -> bytes:
    assert FACES is not None
    return (Path(FACES) / rel).read_bytes()


def _enrolled(client, session):
    f.seed_regions(session)
    p = f.pensioner(session)
    counter = f.staff(session, role="counter", region=f.WENDENG)  # another district: any office in the city serves
    session.commit()
    hdr = f.staff_token(client, counter)
    resp = client.put(
        f"/api/v1/pensioners/{p.id}/face",
        files=[("photos", ("a.jpg", photo("identities/Colin_Powell/1.jpg"), "image/jpeg"))],
        data={"consent_method": "paper_form", "source": "counter"},
        headers=hdr,
    )
    assert resp.status_code == 200, resp.text
    return p, counter, hdr


def test_enrol_stores_encrypted_template_and_consent(client, session) -> None:
    p, counter, _ = _enrolled(client, session)
    template = session.scalar(select(FaceTemplate).where(FaceTemplate.pensioner_id == p.id))
    assert template.kind == "anchor" and template.source == "counter" and template.key_id == "k1"
    assert len(template.encoding) == 12 + 128 * 8 + 16  # nonce + ciphertext + GCM tag, never the plain vector
    consent = session.scalar(select(BiometricConsent).where(BiometricConsent.pensioner_id == p.id))
    assert consent.method == "paper_form" and consent.recorded_by_staff_id == counter.id
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "face_enrolled")) == 1


def test_same_person_matches_and_stranger_does_not(client, session) -> None:
    p, _, hdr = _enrolled(client, session)
    same = client.post(
        f"/api/v1/pensioners/{p.id}/face-verifications",
        files={"photo": ("b.jpg", photo("identities/Colin_Powell/10.jpg"))},
        headers=hdr,
    )
    assert same.status_code == 200, same.text
    assert same.json()["decision"] == "match" and same.json()["distance"] < 0.5
    other = client.post(
        f"/api/v1/pensioners/{p.id}/face-verifications",
        files={"photo": ("c.jpg", photo("identities/Jennifer_Aniston/1.jpg"))},
        headers=hdr,
    )
    assert other.json()["decision"] == "no_match" and other.json()["distance"] > 0.6
    attempts = session.scalars(select(VerificationAttempt).order_by(VerificationAttempt.id)).all()
    assert [a.decision for a in attempts] == ["match", "no_match"]
    assert all(len(a.image_sha256) == 64 for a in attempts)


def test_bad_photos_are_refused_with_codes_and_recorded(client, session) -> None:
    p, _, hdr = _enrolled(client, session)
    url = f"/api/v1/pensioners/{p.id}/face-verifications"
    resp = client.post(url, files={"photo": ("x.jpg", b"this is not an image")}, headers=hdr)
    assert resp.status_code == 422 and resp.json()["code"] == "not_an_image" and resp.json()["message_en"]
    truncated = photo("identities/Colin_Powell/10.jpg")[:4000]
    resp = client.post(url, files={"photo": ("t.jpg", truncated)}, headers=hdr)
    assert resp.status_code == 422 and resp.json()["code"] in {"truncated_image", "not_an_image"}
    attempts = session.scalars(select(VerificationAttempt.decision)).all()
    assert attempts == ["rejected", "rejected"]


def test_only_app_failures_lock_the_day(client, session, settings) -> None:
    p, _, hdr = _enrolled(client, session)
    settings.face_attempts_per_day = 2
    from faces import service as face_service

    url = f"/api/v1/pensioners/{p.id}/face-verifications"
    for _ in range(2):
        client.post(url, files={"photo": ("c.jpg", photo("identities/Jennifer_Aniston/1.jpg"))}, headers=hdr)
    # Counter failures do not lock the app: the counter is the way out of a lock, not a path into one.
    with f.no_lock_session(session) as s:
        face_service.ensure_not_locked(session=s, settings=settings, pensioner_id=p.id, now=f.FIXED_NOW)
    with f.no_lock_session(session) as s:
        s.execute(update(VerificationAttempt).values(channel="app"))
        with pytest.raises(face_service.Locked):
            face_service.ensure_not_locked(session=s, settings=settings, pensioner_id=p.id, now=f.FIXED_NOW)


def test_enrolment_needs_consent_and_a_role(client, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    field = f.staff(session, role="field", region=f.HUANCUI)
    counter = f.staff(session, role="counter", region=f.HUANCUI)
    session.commit()
    files = [("photos", ("a.jpg", photo("identities/Colin_Powell/1.jpg"), "image/jpeg"))]
    resp = client.put(
        f"/api/v1/pensioners/{p.id}/face",
        files=files,
        data={"consent_method": "nod"},
        headers=f.staff_token(client, counter),
    )
    assert resp.status_code == 422 and resp.json()["code"] == "consent_required"
    resp = client.put(
        f"/api/v1/pensioners/{p.id}/face",
        files=files,
        data={"consent_method": "paper_form"},
        headers=f.staff_token(client, field),
    )
    assert resp.status_code == 403
    resp = client.put(
        "/api/v1/pensioners/999999/face",
        files=files,
        data={"consent_method": "paper_form"},
        headers=f.staff_token(client, counter),
    )
    assert resp.status_code == 404
    assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 0


def test_verification_before_enrolment_is_a_clear_conflict(client, session) -> None:
    f.seed_regions(session)
    p = f.pensioner(session)
    counter = f.staff(session, role="counter")
    session.commit()
    resp = client.post(
        f"/api/v1/pensioners/{p.id}/face-verifications",
        files={"photo": ("b.jpg", photo("identities/Colin_Powell/10.jpg"))},
        headers=f.staff_token(client, counter),
    )
    assert resp.status_code == 409 and resp.json()["code"] == "not_enrolled"


def test_templates_decrypt_only_for_their_owner(session, settings) -> None:
    from cryptography.exceptions import InvalidTag

    from core.crypto import KeyRing, decrypt_encoding, encrypt_encoding

    ring = KeyRing.from_settings(settings)
    vec = np.linspace(-0.2, 0.2, 128)
    blob, kid = encrypt_encoding(ring, vec, pensioner_id=1)
    assert np.allclose(decrypt_encoding(ring, blob, key_id=kid, pensioner_id=1), vec)
    with pytest.raises(InvalidTag):
        decrypt_encoding(ring, blob, key_id=kid, pensioner_id=2)


def test_cli_enroll_and_verify_json(session, database_url, monkeypatch, tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from cli import app
    from core.settings import get_settings

    f.seed_regions(session)
    p = f.pensioner(session)
    session.commit()
    monkeypatch.setenv("PENSION_CERT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert FACES is not None
        res = runner.invoke(app, ["enroll", p.national_id, str(Path(FACES) / "identities/Colin_Powell/1.jpg")])
        assert res.exit_code == 0, res.output
        res = runner.invoke(
            app, ["verify", p.national_id, str(Path(FACES) / "identities/Colin_Powell/11.jpg"), "--json"]
        )
        assert res.exit_code == 0, res.output
        body = json.loads(res.stdout)
        assert body["decision"] == "match" and 0 < body["distance"] < 0.5 and isinstance(body["reasons"], list)
        res = runner.invoke(
            app, ["verify", p.national_id, str(Path(FACES) / "identities/Jennifer_Aniston/1.jpg"), "--json"]
        )
        assert json.loads(res.stdout)["decision"] == "no_match"
    finally:
        get_settings.cache_clear()


def test_thresholds_come_from_settings(client, session, settings) -> None:
    p, _, hdr = _enrolled(client, session)
    settings.face_raw_match_threshold = 0.2  # stricter than the genuine pair's distance (about 0.37)
    settings.face_sface_match_distance = 0.05  # SFace decides (the enrolment made an SFace template); cosine ~0.25
    resp = client.post(
        f"/api/v1/pensioners/{p.id}/face-verifications",
        files={"photo": ("b.jpg", photo("identities/Colin_Powell/10.jpg"))},
        headers=hdr,
    )
    assert resp.json()["decision"] == "retry"
    settings.face_min_inter_eye_px = 10_000
    resp = client.post(
        f"/api/v1/pensioners/{p.id}/face-verifications",
        files={"photo": ("b.jpg", photo("identities/Colin_Powell/10.jpg"))},
        headers=hdr,
    )
    assert resp.json()["decision"] == "retry" and "face_too_small" in resp.json()["reasons"]


@pytest.mark.parametrize(
    ("decision", "reasons", "counts"),
    [
        ("retry", ["cohort_too_small"], False),  # reported: a near-perfect 0.054 answered retry, then locked
        ("rejected", ["truncated_image"], False),  # an upload the phone broke
        ("retry", [], True),  # a borderline score: the face itself was in doubt
        ("no_match", [], True),
        ("liveness_failed", ["action_missing:blink"], True),
        ("presentation_attack", ["presentation_attack"], True),
    ],
)
def test_only_refusals_the_pensioner_caused_lock_the_day(
    session, settings, decision: str, reasons: list[str], counts: bool
) -> None:
    from faces import service as face_service

    f.seed_regions(session)
    p = f.pensioner(session)
    settings.face_attempts_per_day = 3
    for i in range(3):
        session.add(
            VerificationAttempt(
                pensioner_id=p.id, at=f.FIXED_NOW, channel="app", decision=decision, reasons=reasons, distance=0.054 + i
            )
        )
    session.commit()
    if counts:
        with pytest.raises(face_service.Locked):
            face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=p.id, now=f.FIXED_NOW)
    else:
        face_service.ensure_not_locked(session=session, settings=settings, pensioner_id=p.id, now=f.FIXED_NOW)


def test_counter_certification_rests_on_a_matched_face_check(client, session, settings, clock) -> None:
    from datetime import timedelta

    from certification import seasons

    p, clerk, hdr = _enrolled(client, session)
    seasons.create_season(session=session, settings=settings, year=2026)
    session.commit()
    url = f"/api/v1/pensioners/{p.id}/face-verifications"
    stranger = client.post(url, files={"photo": ("s.jpg", photo("identities/Jennifer_Aniston/1.jpg"))}, headers=hdr)
    same = client.post(url, files={"photo": ("b.jpg", photo("identities/Colin_Powell/10.jpg"))}, headers=hdr)
    assert stranger.json()["decision"] != "match" and same.json()["decision"] == "match", same.text

    def certify(key: str, **body: object):  # type: ignore[no-untyped-def]
        return client.post(
            "/api/v1/certifications/counter",
            json={"national_id": p.national_id, **body},
            headers=hdr | {"Idempotency-Key": key},
        )

    # Reported: a counter certification recorded no face check at all.
    assert certify("none").json()["code"] == "face_check_required"
    refused = certify("stranger", attempt_id=stranger.json()["attempt_id"])
    assert refused.status_code == 422 and refused.json()["detail"]["reason"] == "not_matched"
    clock.now += timedelta(minutes=settings.counter_face_check_minutes + 1)
    hdr.update(f.staff_token(client, clerk))  # the clerk logs in again after half an hour
    late = certify("late", attempt_id=same.json()["attempt_id"])
    assert late.json()["code"] == "face_check_not_usable" and late.json()["detail"]["reason"] == "expired"
    clock.now -= timedelta(minutes=settings.counter_face_check_minutes + 1)
    done = certify("ok", attempt_id=same.json()["attempt_id"])
    assert done.status_code == 200 and done.json()["attempt_id"] == same.json()["attempt_id"], done.text
    assert done.json()["already_certified"] is False
    # Reported: counter staff got 403 on the face checks they made; they see theirs (and only theirs).
    history = client.get(url, headers=hdr)
    assert history.status_code == 200, history.text
    assert {a["id"] for a in history.json()} == {stranger.json()["attempt_id"], same.json()["attempt_id"]}
    other = f.staff(session, role="counter", region=f.HUANCUI)
    session.commit()
    assert client.get(url, headers=f.staff_token(client, other)).json() == []
